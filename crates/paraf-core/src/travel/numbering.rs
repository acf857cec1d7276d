//! Official numbers of an order, allocated once by the travel service from its reserved
//! series ([`crate::numbers`]), in the same transaction as the order that carries them.

use super::*;
use crate::numbers::{self, Series};

impl Travel {
    /// Allocates the order's SPT and SPPD numbers (once; gapless per year and series),
    /// while the order awaits its signed approval.
    pub async fn allocate_approval_numbers(
        &self,
        id: &str,
        on: Date,
    ) -> Result<TravelOrder, ServiceError> {
        self.allocate(id, on, OrderStatus::Submitted, |o, mut taken| {
            if o.numbers.spt.is_some() {
                return None;
            }
            Some(match taken.as_mut() {
                None => vec![(&numbers::SPT, 1), (&numbers::SPPD, o.pelaksana.len())],
                Some(t) => {
                    o.numbers.spt = t[0].pop();
                    o.numbers.sppd = std::mem::take(&mut t[1]);
                    o.numbers.approved_on = Some(on);
                    Vec::new()
                }
            })
        })
        .await
    }

    /// Allocates one kuitansi number per traveller (once), after the PPK's acceptance.
    pub async fn allocate_settlement_numbers(
        &self,
        id: &str,
        on: Date,
    ) -> Result<TravelOrder, ServiceError> {
        self.allocate(id, on, OrderStatus::Accepted, |o, mut taken| {
            if !o.numbers.kuitansi.is_empty() {
                return None;
            }
            Some(match taken.as_mut() {
                None => vec![(&numbers::KUITANSI, o.pelaksana.len())],
                Some(t) => {
                    o.numbers.kuitansi = std::mem::take(&mut t[0]);
                    o.numbers.settled_on = Some(on);
                    Vec::new()
                }
            })
        })
        .await
    }

    /// Takes numbers for an order in `stage`. `plan(o, None)` names the series and how
    /// many of each (`None`: the order has its numbers already); `plan(o, Some(numbers))`
    /// then writes the numbers taken, in the same order, onto the order.
    pub(super) async fn allocate(
        &self,
        id: &str,
        on: Date,
        stage: OrderStatus,
        plan: impl Fn(
            &mut TravelOrder,
            Option<Vec<Vec<String>>>,
        ) -> Option<Vec<(&'static Series, usize)>>,
    ) -> Result<TravelOrder, ServiceError> {
        let year = on.year();
        modify!(self, id, |o, _now| {
            let Some(wanted) = plan(o, None) else {
                return Ok(None);
            };
            if o.status != stage {
                return Err(wrong_status(
                    "nomor hanya diberikan pada tahap penandatanganan pengajuan ini",
                    "numbers are only given when this order's documents are signed",
                    o.status,
                ));
            }
            let mut ops = Vec::new();
            let mut taken = Vec::new();
            for (series, n) in wanted {
                let (nums, op) = numbers::take(self.table.as_ref(), series, year, n).await?;
                taken.push(nums);
                ops.push(op);
            }
            plan(o, Some(taken));
            Ok(Some(ops))
        })
    }
}
