//! A travel order as its approvers see it on the task page: what the trip is (purpose,
//! dates, travellers with their jabatan, destination, transport, account) and what it
//! costs, with the link to the order.

use paraf_core::format::rupiah;
use serde_json::Value;

use super::pages::{estimate_groups, order_facts};
use super::texts::{texts, SppdTexts};
use super::{travel, EstGroup, Fact};
use crate::i18n::Lang;
use crate::AppState;

/// The order's details on a task page.
pub struct TaskDetails {
    pub tx: &'static SppdTexts,
    pub facts: Vec<Fact>,
    pub estimate: Vec<EstGroup>,
    pub est_total: Option<String>,
    /// The order's page.
    pub href: String,
}

/// The details of the travel order an approval request is about (none for another
/// request, or an order that cannot be read).
pub async fn task_details(state: &AppState, request: &Value, lang: Lang) -> Option<TaskDetails> {
    let id = paraf_tasks::travel::order_of_request(request)?;
    let o = match travel(state).load(id).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(order = %id, error = %e, "the task's travel order cannot be read");
            return None;
        }
    };
    let x = texts(lang);
    let mut facts = order_facts(x, &o);
    // Numbers come with the signatures: nothing to show while the order is decided on.
    facts.retain(|f| !f.value.is_empty());
    Some(TaskDetails {
        tx: x,
        facts,
        estimate: estimate_groups(&o, o.estimate.as_ref()),
        est_total: o.estimate.as_ref().map(|e| rupiah(e.total)),
        href: format!("/sppd/{}", o.id),
    })
}
