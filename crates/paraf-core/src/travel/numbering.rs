//! Official numbers of an order, allocated once by the travel service.

use super::*;

impl Travel {
    /// Allocates the order's SPT and SPPD numbers (once; gapless per year and type).
    pub async fn allocate_approval_numbers(
        &self,
        id: &str,
        on: Date,
    ) -> Result<TravelOrder, ServiceError> {
        self.allocate(
            id,
            on,
            |o| o.numbers.spt.is_some(),
            |o, seqs| {
                let year = on.year();
                o.numbers.spt = Some(format!(
                    "{}/{}-ST/32/{year}",
                    seqs["spt"][0], CLASSIFICATION
                ));
                o.numbers.sppd = seqs["sppd"]
                    .iter()
                    .map(|n| format!("{n}/{}-SPPD/32/{year}", CLASSIFICATION))
                    .collect();
                o.numbers.approved_on = Some(on);
            },
            |o| vec![("spt", 1), ("sppd", o.pelaksana.len())],
        )
        .await
    }

    /// Allocates one kuitansi number per traveller (once).
    pub async fn allocate_settlement_numbers(
        &self,
        id: &str,
        on: Date,
    ) -> Result<TravelOrder, ServiceError> {
        self.allocate(
            id,
            on,
            |o| !o.numbers.kuitansi.is_empty(),
            |o, seqs| {
                let year = on.year();
                o.numbers.kuitansi = seqs["kuitansi"]
                    .iter()
                    .map(|n| format!("{n}/{}-KW/32/{year}", CLASSIFICATION))
                    .collect();
                o.numbers.settled_on = Some(on);
            },
            |o| vec![("kuitansi", o.pelaksana.len())],
        )
        .await
    }

    pub(super) async fn allocate(
        &self,
        id: &str,
        on: Date,
        done: impl Fn(&TravelOrder) -> bool,
        assign: impl Fn(&mut TravelOrder, &std::collections::BTreeMap<&'static str, Vec<u64>>),
        wants: impl Fn(&TravelOrder) -> Vec<(&'static str, usize)>,
    ) -> Result<TravelOrder, ServiceError> {
        let year = on.year();
        modify!(self, id, |o, _now| {
            if done(o) {
                return Ok(None);
            }
            let mut ops = Vec::new();
            let mut seqs = std::collections::BTreeMap::new();
            for (kind, n) in wants(o) {
                let k = counter_key(kind, year);
                let last = self
                    .table
                    .get(&k)
                    .await?
                    .and_then(|it| it.get("last").and_then(Value::as_u64));
                let start = last.unwrap_or(0);
                seqs.insert(kind, (start + 1..=start + n as u64).collect::<Vec<_>>());
                let mut it = Item::new();
                it.insert("pk".into(), json!(k.pk));
                it.insert("sk".into(), json!(k.sk));
                it.insert("last".into(), json!(start + n as u64));
                ops.push(TxOp::Put {
                    item: it,
                    condition: Some(match last {
                        Some(l) => Condition::equals("last", l),
                        None => Condition::absent(),
                    }),
                });
            }
            assign(o, &seqs);
            Ok(Some(ops))
        })
    }
}
