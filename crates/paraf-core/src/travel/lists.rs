//! Lists of orders and an order's timeline.

use super::*;

impl Travel {
    /// Orders `who` requested or travels on, newest first.
    pub async fn mine(&self, who: &Principal) -> Result<Vec<TravelOrder>, ServiceError> {
        let mine = Query::partition(Index::Gsi2, format!("SPPDBY#{}", who.employee_id));
        let mut out: Vec<TravelOrder> = record::collect(self.table.as_ref(), mine, ORDER).await?;
        for (order, _, _) in self.trips_of(&who.employee_id).await? {
            if !out.iter().any(|o| o.id == order) {
                out.push(self.load(&order).await?);
            }
        }
        let mut synced = Vec::with_capacity(out.len());
        for o in out {
            synced.push(self.sync(o).await?);
        }
        synced.sort_by_key(|o| std::cmp::Reverse(o.created));
        Ok(synced)
    }

    /// Orders waiting for `who`'s decision (as assignee or Plh), with the task.
    pub async fn to_approve(
        &self,
        who: &Principal,
    ) -> Result<Vec<(TravelOrder, ApprovalTask)>, ServiceError> {
        let mut out = Vec::new();
        for t in self.approvals.inbox(&who.employee_id).await? {
            if t.kind != TaskKind::ApprovalStep
                || t.request.get("service").and_then(Value::as_str) != Some(SERVICE)
            {
                continue;
            }
            let Some(id) = t.request.get("order").and_then(Value::as_str) else {
                continue;
            };
            if let Ok(o) = self.load(id).await {
                out.push((o, t));
            }
        }
        Ok(out)
    }

    /// All orders (PPK, bendahara, admin), filtered; by departure date, newest first.
    pub async fn all(
        &self,
        who: &Principal,
        f: &ListFilter,
    ) -> Result<Vec<TravelOrder>, ServiceError> {
        who.require_any(&[Role::Admin, Role::Ppk, Role::Bendahara])?;
        let mut q = Query::partition(Index::Gsi1, "SPPDS");
        if let Some((y, m)) = f.month {
            q = q.sk(SortKey::BeginsWith(format!("{y:04}-{m:02}-")));
        }
        let mut out = Vec::new();
        for o in record::collect::<TravelOrder>(self.table.as_ref(), q, ORDER).await? {
            let o = self.sync(o).await?;
            if o.status == OrderStatus::Draft && o.requester_id != who.employee_id {
                continue;
            }
            if f.status.is_some_and(|s| s != o.status) {
                continue;
            }
            if f.unit_id.as_deref().is_some_and(|u| u != o.unit_id) {
                continue;
            }
            if let Some(d) = f
                .destination
                .as_deref()
                .map(|d| d.trim().to_lowercase())
                .filter(|d| !d.is_empty())
            {
                let hay =
                    format!("{} {}", o.tempat_tujuan.provinsi, o.tempat_tujuan.kota).to_lowercase();
                if !hay.contains(&d) {
                    continue;
                }
            }
            out.push(o);
        }
        out.sort_by(|a, b| {
            b.tanggal_berangkat
                .cmp(&a.tanggal_berangkat)
                .then(b.created.cmp(&a.created))
        });
        Ok(out)
    }

    /// The order's timeline: its own events and every approval task's history, by time.
    pub async fn timeline(&self, o: &TravelOrder) -> Result<Vec<TimelineEntry>, ServiceError> {
        let mut out = o.timeline.clone();
        if let Some(exec) = &o.execution_id {
            for t in self.approvals.tasks_of_execution(exec).await? {
                let step = match t.kind {
                    TaskKind::ApprovalStep => text!(
                        "langkah {} ({}): ",
                        "step {} ({}): ",
                        t.step,
                        t.assignee_name
                    ),
                    TaskKind::Resubmit => text!("perbaikan: ", "revision: "),
                };
                for h in &t.history {
                    // A decision that changed the order (returned, rejected) is already
                    // on the order's own timeline: same instant, same official.
                    let on_order = |h: &crate::approvals::HistoryEntry| {
                        o.timeline.iter().any(|e| {
                            e.at == h.at
                                && e.actor == h.actor
                                && matches!(e.event.as_str(), "returned" | "rejected")
                        })
                    };
                    if h.event == "delivered"
                        || h.event == "decided" && (t.kind == TaskKind::Resubmit || on_order(h))
                    {
                        continue;
                    }
                    out.push(TimelineEntry {
                        at: h.at,
                        event: format!("task.{}", h.event),
                        actor: h.actor.clone(),
                        text: Text::new(
                            format!("{}{}", step.id, h.text.id),
                            format!("{}{}", step.en, h.text.en),
                        ),
                    });
                }
            }
        }
        out.sort_by_key(|e| e.at);
        out.dedup_by(|a, b| a.at == b.at && a.text == b.text);
        Ok(out)
    }
}
