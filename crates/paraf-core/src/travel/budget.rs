//! The monthly cap of travel days and the budget ceilings (pagu): an order holds its
//! estimate against its account while it is active.

use super::*;

impl Travel {
    /// The monthly cap of travel days per traveller.
    pub async fn monthly_cap(&self) -> Result<u32, ServiceError> {
        Ok(self
            .table
            .get(&settings_key())
            .await?
            .and_then(|it| it.get("monthly_cap").and_then(Value::as_u64))
            .map(|v| v as u32)
            .unwrap_or(DEFAULT_MONTHLY_CAP))
    }

    pub async fn set_monthly_cap(&self, who: &Principal, cap: u32) -> Result<u32, ServiceError> {
        who.require(Role::Admin)?;
        if !(1..=31).contains(&cap) {
            return Err(ServiceError::invalid(
                "monthly_cap",
                text!(
                    "harus antara 1 dan 31 hari",
                    "must be between 1 and 31 days"
                ),
            ));
        }
        let k = settings_key();
        let mut it = Item::new();
        it.insert("pk".into(), json!(k.pk));
        it.insert("sk".into(), json!(k.sk));
        it.insert("monthly_cap".into(), json!(cap));
        self.table.put(it, None).await?;
        Ok(cap)
    }

    pub async fn pagu(&self, year: i32, akun: &str) -> Result<Option<Pagu>, ServiceError> {
        if akun.trim().is_empty() || akun.len() > 40 {
            return Ok(None);
        }
        match self.table.get(&pagu_key(year, akun.trim())).await? {
            Some(it) => record::from_item(it, PAGU).map(Some),
            None => Ok(None),
        }
    }

    pub async fn pagus(&self, year: i32) -> Result<Vec<Pagu>, ServiceError> {
        super::sbm::check_fiscal_year(year)?;
        record::collect(
            self.table.as_ref(),
            Query::partition(Index::Primary, format!("PAGU#{year}")),
            PAGU,
        )
        .await
    }

    /// Sets (or changes) the ceiling of an account; what active orders hold stays held.
    pub async fn set_pagu(
        &self,
        who: &Principal,
        year: i32,
        akun: &str,
        uraian: &str,
        amount: i64,
    ) -> Result<Pagu, ServiceError> {
        who.require_any(&[Role::Admin, Role::Ppk])?;
        let mut e = FieldErrors::default();
        let akun = akun.trim();
        if akun.is_empty()
            || akun.len() > 40
            || !akun
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            e.add(
                "akun",
                text!(
                    "kode akun wajib diisi (angka, huruf, titik atau tanda hubung)",
                    "the account code is required (digits, letters, dots or dashes)"
                ),
            );
        }
        if !(0..=1_000_000_000_000).contains(&amount) {
            e.add(
                "pagu",
                text!(
                    "harus rupiah bulat, tidak negatif",
                    "must be whole rupiah, not negative"
                ),
            );
        }
        if let Err(ServiceError::Invalid(f)) = super::sbm::check_fiscal_year(year) {
            for (k, v) in f.iter() {
                e.add(k, v.clone());
            }
        }
        e.into_result()?;
        for _ in 0..20 {
            let old = self.pagu(year, akun).await?;
            let p = Pagu {
                year,
                akun: akun.to_string(),
                uraian: uraian.trim().to_string(),
                pagu: amount,
                reserved: old.as_ref().map(|o| o.reserved).unwrap_or(0),
                version: old.as_ref().map(|o| o.version + 1).unwrap_or(1),
            };
            let cond = match &old {
                Some(o) => Condition::version(o.version),
                None => Condition::absent(),
            };
            match self.table.put(pagu_item(&p)?, Some(cond)).await {
                Ok(()) => return Ok(p),
                Err(crate::ports::table::TableError::ConditionFailed { .. })
                | Err(crate::ports::table::TableError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Stale)
    }

    /// Takes the budget for an order: the pagu item updated on its version, in the
    /// caller's transaction. `None` when the account has no pagu set.
    pub(super) async fn reserve_op(
        &self,
        year: i32,
        akun: &str,
        delta: i64,
        field: &str,
    ) -> Result<Option<TxOp>, ServiceError> {
        let Some(mut p) = self.pagu(year, akun).await? else {
            return Ok(None);
        };
        if delta > 0 && p.reserved + delta > p.pagu {
            return Err(ServiceError::invalid(
                field,
                text!(
                    "sisa pagu akun {} tahun {} tinggal {}, biaya perjalanan ini {}",
                    "the remaining budget of account {} in {} is {}, this trip costs {}",
                    akun,
                    year,
                    rupiah(p.remaining().max(0)),
                    rupiah(delta)
                ),
            ));
        }
        let old = p.version;
        p.reserved = (p.reserved + delta).max(0);
        p.version = old + 1;
        Ok(Some(TxOp::Put {
            item: pagu_item(&p)?,
            condition: Some(Condition::version(old)),
        }))
    }
}
