//! Approval: submission starts the approval workflow; the order follows its tasks
//! (returned, rejected, withdrawn) and the sign task records the approval.

use super::*;

impl Travel {
    /// Submits a draft: rules, estimate, chain; holds the travellers' days and the budget
    /// and starts the approval workflow.
    pub async fn submit(
        &self,
        id: &str,
        who: &Principal,
        workflows: &dyn Workflows,
    ) -> Result<TravelOrder, ServiceError> {
        let o = self.sync(self.load(id).await?).await?;
        if o.requester_id != who.employee_id {
            return Err(ServiceError::Forbidden);
        }
        if o.status == OrderStatus::Returned {
            return self.resubmit(id, who, workflows).await;
        }
        let requester = self.org.employee(&o.requester_id).await?;
        let o = decide!(self, id, |o, now| {
            if o.status != OrderStatus::Draft {
                return Err(wrong_status(
                    "hanya draf yang dapat diajukan",
                    "only a draft can be submitted",
                    o.status,
                ));
            }
            let est = self.check_rules(o).await?;
            let chain = self.chain_for(&requester, &o.ppk_id).await?;
            let total = est.total;
            o.submissions += 1;
            o.execution_name = Some(format!("sppd{}n{}", o.id, o.submissions));
            o.chain = chain.clone();
            o.estimate = Some(est);
            o.status = OrderStatus::Submitted;
            o.push(
                now,
                "submitted",
                Some(&who.employee_id),
                text!(
                    "diajukan oleh {}; perkiraan biaya {}; alur persetujuan: {}",
                    "submitted by {}; estimated cost {}; approval chain: {}",
                    who.name,
                    rupiah(total),
                    chain
                        .iter()
                        .map(|c| c.name.clone())
                        .collect::<Vec<_>>()
                        .join(" → ")
                ),
            );
            self.hold(o, total).await.map(Some)
        })?;
        self.start_workflow(o, &requester, workflows).await
    }

    pub(super) async fn start_workflow(
        &self,
        o: TravelOrder,
        requester: &Employee,
        workflows: &dyn Workflows,
    ) -> Result<TravelOrder, ServiceError> {
        let mut request = serde_json::Map::new();
        request.insert("service".into(), json!(SERVICE));
        request.insert("order".into(), json!(o.id));
        // The order's page and its edit form: linked from the tasks and their mails.
        request.insert("subjectPath".into(), json!(format!("/sppd/{}", o.id)));
        request.insert("editPath".into(), json!(format!("/sppd/{}/ubah", o.id)));
        let name = o.execution_name.clone().unwrap_or_default();
        let started: Result<ApprovalRequest, ServiceError> = self
            .approvals
            .start_chain(
                requester,
                &o.subject().chars().take(200).collect::<String>(),
                Some("Surat Tugas dan SPPD"),
                o.chain.clone(),
                request,
                &name,
                workflows,
            )
            .await;
        match started {
            Ok(req) => {
                modify!(self, &o.id, |o, _now| {
                    if o.execution_id.as_deref() == Some(req.execution_id.as_str()) {
                        return Ok(None);
                    }
                    o.execution_id = Some(req.execution_id.clone());
                    Ok(Some(Vec::new()))
                })
            }
            Err(e) => {
                // Nothing started: give the days and the budget back, back to draft.
                tracing::warn!(order = %o.id, error = %e, "approval workflow did not start");
                let _ = self
                    .release(&o.id, &[OrderStatus::Submitted], OrderStatus::Draft, None)
                    .await;
                Err(e)
            }
        }
    }

    /// Ends an order's hold on days and budget, moving it from one of `from` to `status`
    /// (draft, rejected, withdrawn). Idempotent; an order that has meanwhile moved
    /// elsewhere is 409 "sudah diputuskan".
    pub(super) async fn release(
        &self,
        id: &str,
        from: &[OrderStatus],
        status: OrderStatus,
        entry: Option<TimelineEntry>,
    ) -> Result<TravelOrder, ServiceError> {
        modify!(self, id, |o, _now| {
            if o.status == status {
                return Ok(None);
            }
            if !from.contains(&o.status) {
                return Err(ServiceError::already_decided());
            }
            let mut ops = Self::trip_ops(o, false);
            o.held_trips.clear();
            if let Some((year, akun, amount)) = o.reserved.take() {
                ops.extend(
                    self.reserve_op(year, &akun, -amount, "anggaran.akun")
                        .await?,
                );
            }
            o.status = status;
            o.timeline.extend(entry.clone());
            Ok(Some(ops))
        })
    }

    /// Brings an order in approval up to date with its approval tasks: returned,
    /// rejected or withdrawn as the latest decision says.
    pub async fn sync(&self, o: TravelOrder) -> Result<TravelOrder, ServiceError> {
        if !matches!(o.status, OrderStatus::Submitted | OrderStatus::Returned) {
            return Ok(o);
        }
        let Some(exec) = o.execution_id.clone() else {
            return Ok(o);
        };
        let mut tasks = self.approvals.tasks_of_execution(&exec).await?;
        tasks.sort_by_key(|t| t.created);
        let Some(latest) = tasks
            .iter()
            .rev()
            .find(|t| t.status != TaskStatus::Superseded || t.superseded_by.is_none())
        else {
            return Ok(o);
        };
        let decided = latest.decision.as_ref().map(|d| d.outcome);
        let derived = match (latest.kind, latest.status, decided) {
            (TaskKind::ApprovalStep, TaskStatus::Decided, Some(Outcome::Reject)) => {
                OrderStatus::Rejected
            }
            (TaskKind::ApprovalStep, TaskStatus::Decided, Some(Outcome::Return)) => {
                OrderStatus::Returned
            }
            (TaskKind::Resubmit, TaskStatus::Decided, Some(Outcome::Withdraw)) => {
                OrderStatus::Withdrawn
            }
            (TaskKind::Resubmit, TaskStatus::Decided, _) => OrderStatus::Submitted,
            (TaskKind::Resubmit, _, _) => OrderStatus::Returned,
            _ => OrderStatus::Submitted,
        };
        if derived == o.status {
            return Ok(o);
        }
        let entry = latest.decision.as_ref().map(|d| {
            let label = derived.label();
            let note = if d.note.is_empty() {
                String::new()
            } else {
                format!(": {}", d.note)
            };
            TimelineEntry {
                at: d.at,
                event: derived.as_str().into(),
                actor: Some(d.by_id.clone()),
                text: Text::new(
                    format!("{} oleh {}{note}", label.id, d.by_name),
                    format!("{} by {}{note}", label.en, d.by_name),
                ),
            }
        });
        match derived {
            OrderStatus::Rejected | OrderStatus::Withdrawn => {
                self.release(
                    &o.id,
                    &[OrderStatus::Submitted, OrderStatus::Returned],
                    derived,
                    entry,
                )
                .await
            }
            _ => {
                modify!(self, &o.id, |o, _now| {
                    if o.status == derived
                        || !matches!(o.status, OrderStatus::Submitted | OrderStatus::Returned)
                    {
                        return Ok(None);
                    }
                    o.status = derived;
                    o.timeline.extend(entry.clone());
                    Ok(Some(Vec::new()))
                })
            }
        }
    }

    /// The open resubmission task of a returned order.
    pub(super) async fn resubmit_task(
        &self,
        o: &TravelOrder,
    ) -> Result<ApprovalTask, ServiceError> {
        let exec = o.execution_id.clone().unwrap_or_default();
        let tasks = self.approvals.tasks_of_execution(&exec).await?;
        tasks
            .into_iter()
            .rev()
            .find(|t| t.kind == TaskKind::Resubmit && t.is_open())
            .ok_or_else(|| {
                ServiceError::conflict(
                    "status",
                    text!(
                        "permintaan perbaikan belum sampai; coba lagi sebentar lagi",
                        "the revision request has not arrived yet; try again shortly"
                    ),
                )
            })
    }

    /// Resubmits a returned order (after the requester's edits): the rules again, a new
    /// estimate, then the chain resumes at the step that returned it.
    pub async fn resubmit(
        &self,
        id: &str,
        who: &Principal,
        workflows: &dyn Workflows,
    ) -> Result<TravelOrder, ServiceError> {
        let o = self.sync(self.load(id).await?).await?;
        if o.requester_id != who.employee_id {
            return Err(ServiceError::Forbidden);
        }
        if o.status != OrderStatus::Returned {
            return Err(wrong_status(
                "hanya pengajuan yang dikembalikan yang dapat diajukan kembali",
                "only a returned order can be resubmitted",
                o.status,
            ));
        }
        let task = self.resubmit_task(&o).await?;
        let o = decide!(self, id, |o, now| {
            if o.status != OrderStatus::Returned {
                return Err(wrong_status(
                    "hanya pengajuan yang dikembalikan yang dapat diajukan kembali",
                    "only a returned order can be resubmitted",
                    o.status,
                ));
            }
            let est = self.check_rules(o).await?;
            let total = est.total;
            o.estimate = Some(est);
            o.status = OrderStatus::Submitted;
            o.push(
                now,
                "resubmitted",
                Some(&who.employee_id),
                text!("diajukan kembali oleh {}", "resubmitted by {}", who.name),
            );
            // Travellers and dates may have changed: the days held follow them.
            self.hold(o, total).await.map(Some)
        })?;
        let decided = self
            .approvals
            .decide(&task.id, who, "resubmit", "diperbaiki dan diajukan kembali")
            .await
            .map_err(decide_error)?;
        if let Err(e) = self.approvals.deliver(&decided, workflows).await {
            tracing::warn!(order = %o.id, error = %e, "resubmission recorded, hand-over deferred");
        }
        Ok(o)
    }

    /// Withdraws a draft (deleted from view) or a returned order (the workflow ends).
    pub async fn withdraw(
        &self,
        id: &str,
        who: &Principal,
        note: &str,
        workflows: &dyn Workflows,
    ) -> Result<TravelOrder, ServiceError> {
        let o = self.sync(self.load(id).await?).await?;
        if o.requester_id != who.employee_id {
            return Err(ServiceError::Forbidden);
        }
        let entry = TimelineEntry {
            at: self.clock.now(),
            event: "withdrawn".into(),
            actor: Some(who.employee_id.clone()),
            text: text!("ditarik oleh {}", "withdrawn by {}", who.name),
        };
        match o.status {
            OrderStatus::Draft => {
                self.release(
                    id,
                    &[OrderStatus::Draft],
                    OrderStatus::Withdrawn,
                    Some(entry),
                )
                .await
            }
            OrderStatus::Returned => {
                let task = self.resubmit_task(&o).await?;
                // The order first: of a withdrawal and a resubmission racing, the one that
                // changes the order decides, and only it answers the workflow.
                let o = self
                    .release(
                        id,
                        &[OrderStatus::Returned],
                        OrderStatus::Withdrawn,
                        Some(entry),
                    )
                    .await?;
                let note = if note.trim().is_empty() {
                    "ditarik oleh pengaju"
                } else {
                    note
                };
                match self.approvals.decide(&task.id, who, "withdraw", note).await {
                    Ok(decided) => {
                        if let Err(e) = self.approvals.deliver(&decided, workflows).await {
                            tracing::warn!(order = %o.id, error = %e, "withdrawal recorded, hand-over deferred");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(order = %o.id, error = %e, "order withdrawn; its revision task could not be closed")
                    }
                }
                Ok(o)
            }
            s => Err(wrong_status(
                "pengajuan ini tidak dapat ditarik",
                "this order cannot be withdrawn",
                s,
            )),
        }
    }

    /// Who approved each step of the order's chain, in step order.
    pub async fn deciders(&self, o: &TravelOrder) -> Result<Vec<Decider>, ServiceError> {
        let exec = o.execution_id.clone().unwrap_or_default();
        let tasks = self.approvals.tasks_of_execution(&exec).await?;
        let mut out = Vec::new();
        for c in &o.chain {
            let d = tasks
                .iter()
                .filter(|t| t.kind == TaskKind::ApprovalStep && t.step == c.step)
                .filter_map(|t| {
                    t.decision
                        .as_ref()
                        .filter(|d| d.outcome == Outcome::Approve)
                        .map(|d| (t, d))
                })
                .max_by_key(|(_, d)| d.at);
            let (employee_id, on_behalf_of, decided_at) = match d {
                Some((t, d)) => (
                    d.by_id.clone(),
                    (d.by_id != t.assignee_id).then(|| t.assignee_id.clone()),
                    Some(d.at),
                ),
                None => (c.assignee.clone(), None, None),
            };
            out.push(Decider {
                step: c.step,
                action: c.action.clone(),
                employee_id,
                on_behalf_of,
                decided_at,
            });
        }
        Ok(out)
    }

    /// Records the signed SPT and SPPDs: the order is approved, the travel days are
    /// recorded for attendance (DL). Idempotent.
    pub async fn mark_approved(
        &self,
        id: &str,
        spt: &str,
        sppd: &[String],
    ) -> Result<TravelOrder, ServiceError> {
        let o = modify!(self, id, |o, now| {
            if o.documents.spt.as_deref() == Some(spt) {
                // Recorded by an earlier run of the sign task.
                return Ok(None);
            }
            if o.status != OrderStatus::Submitted {
                return Err(wrong_status(
                    "hanya pengajuan dalam persetujuan yang dapat disetujui",
                    "only an order awaiting approval can be approved",
                    o.status,
                ));
            }
            o.status = OrderStatus::Approved;
            o.documents.spt = Some(spt.to_string());
            o.documents.sppd = sppd.to_vec();
            o.push(
                now,
                "approved",
                None,
                text!(
                    "disetujui; Surat Tugas {} dan SPPD {} ditandatangani dan diarsipkan",
                    "approved; Surat Tugas {} and SPPD {} signed and archived",
                    o.numbers.spt.clone().unwrap_or_default(),
                    o.numbers.sppd.join(", ")
                ),
            );
            Ok(Some(Vec::new()))
        })?;
        for t in &o.pelaksana {
            for d in o.days() {
                let mut it = Item::new();
                it.insert("pk".into(), json!(duty_partition(&t.employee_id)));
                it.insert("sk".into(), json!(date_str(d)));
                it.insert("order".into(), json!(o.id));
                it.insert("kind".into(), json!("DL"));
                it.insert("spt".into(), json!(o.numbers.spt));
                self.table.put(it, None).await?;
            }
        }
        Ok(o)
    }

    /// Records that the travellers were mailed about the approval (idempotent).
    pub async fn mark_travellers_mailed(&self, id: &str) -> Result<TravelOrder, ServiceError> {
        modify!(self, id, |o, _now| {
            if o.travellers_mailed {
                return Ok(None);
            }
            o.travellers_mailed = true;
            Ok(Some(Vec::new()))
        })
    }

    /// Days `employee_id` is on official travel (DL) between `from` and `to`, with the
    /// order: what e-absensi shows as DL.
    pub async fn duty_days(
        &self,
        employee_id: &str,
        from: Date,
        to: Date,
    ) -> Result<Vec<(Date, String)>, ServiceError> {
        let page = self
            .table
            .query(
                Query::partition(Index::Primary, duty_partition(employee_id))
                    .sk(SortKey::Between(date_str(from), date_str(to))),
            )
            .await?;
        let mut out = Vec::new();
        for it in page.items {
            let sk = it.get("sk").and_then(Value::as_str).and_then(parse_date);
            let order = it
                .get("order")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if let Some(d) = sk {
                // A trip rejected later never reaches here; one withdrawn after approval
                // cannot happen (approved orders are not withdrawn).
                out.push((d, order));
            }
        }
        Ok(out)
    }
}

fn decide_error(e: crate::approvals::DecideError) -> ServiceError {
    use crate::approvals::DecideError as D;
    match e {
        D::NotFound => ServiceError::NotFound("approval task"),
        D::Forbidden => ServiceError::Forbidden,
        D::AlreadyDecided(_) => ServiceError::already_decided(),
        D::Expired(_) => ServiceError::conflict(
            "status",
            text!(
                "permintaan perbaikan sudah tidak terbuka",
                "the revision request is no longer open"
            ),
        ),
        D::Invalid(f) => ServiceError::Invalid(f),
        D::Service(s) => s,
    }
}
