//! What an approval will sign, before anyone signs it: the documents the sign task renders
//! for a request — a travel order's SPT and SPPDs, or the document an approval request
//! described — laid out from today's data, without numbers or signatures, with who
//! initials or signs each. Approvers read them (as pages, or as the unsigned PDF) before
//! they decide.

use paraf_core::travel::Travel;
use paraf_core::Org;
use paraf_pdf::render::{layouts, Letterhead};
use serde_json::Value;
use time::OffsetDateTime;

use crate::sign::{DocumentSpec, SignTaskError, StepKind};

/// A document as the sign task will render it.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The archive type: `spt`, `sppd`, or the type an approval request named.
    pub kind: String,
    /// The layout in `templates/pdf`.
    pub layout: String,
    pub title: String,
    pub data: Value,
    /// Who initials or signs it, in signing order (unknown for a generic approval: its
    /// chain is the workflow's).
    pub signers: Vec<DraftSigner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftSigner {
    /// The step of the approval chain whose decision it is.
    pub step: Option<u32>,
    pub employee_id: String,
    pub kind: StepKind,
}

impl Draft {
    fn layout(&self) -> Result<&'static str, SignTaskError> {
        layouts::by_name(&self.layout)
            .ok_or_else(|| SignTaskError::UnknownLayout(self.layout.clone()))
    }

    /// The unsigned PDF, created at `at`.
    pub fn pdf(
        &self,
        letterhead: &Letterhead,
        at: OffsetDateTime,
    ) -> Result<Vec<u8>, SignTaskError> {
        Ok(paraf_pdf::render::render_at(self.layout()?, &self.data, letterhead, at)?.pdf)
    }

    /// The pages as SVG, laid out as the PDF.
    pub fn pages(&self, letterhead: &Letterhead) -> Result<Vec<String>, SignTaskError> {
        Ok(paraf_pdf::render::render_svg(
            self.layout()?,
            &self.data,
            letterhead,
        )?)
    }

    /// How the official deciding `step` takes part in this document, if at all.
    pub fn part_of(&self, step: u32) -> Option<StepKind> {
        self.signers
            .iter()
            .find(|s| s.step == Some(step))
            .map(|s| s.kind)
    }
}

/// The documents an approval request ends in (none when it ends in no document), as
/// they would be signed on `on`.
pub async fn drafts(
    org: &Org,
    travel: &Travel,
    request: &Value,
    on: time::Date,
) -> Result<Vec<Draft>, SignTaskError> {
    if let Some(order) = crate::travel::order_of_request(request) {
        let o = travel.load(order).await?;
        return crate::travel::approval_drafts(org, travel, &o, on).await;
    }
    // A generic approval signs the document its request describes, if it describes one.
    if request
        .get("doc_type")
        .or_else(|| request.get("type"))
        .is_none()
    {
        return Ok(Vec::new());
    }
    let spec: DocumentSpec = serde_json::from_value(request.clone())
        .map_err(|e| SignTaskError::Invalid(e.to_string()))?;
    let layout = spec.layout.clone().unwrap_or_else(|| spec.doc_type.clone());
    Ok(vec![Draft {
        kind: spec.doc_type,
        layout,
        title: spec.title,
        data: spec.data,
        signers: Vec::new(),
    }])
}
