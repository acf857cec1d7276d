//! What an approver decides on, on the task page a mailed link opens: the subject's
//! details (a travel order's trip and costs), the documents the approval ends in as pages
//! to read before signing (and as the unsigned PDF), the confirmation that names the
//! documents and the role they are signed in, the notes given so far, and — on a revision
//! task — the reason the request came back, who returned it and where to edit it.
//!
//! The pages are SVG drawn by the same layout engine as the PDF the sign step signs
//! ([`paraf_tasks::preview`]), so a phone shows them without a PDF viewer and without
//! JavaScript; the text is in the document's own serif face, served from the binary.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use paraf_core::approvals::{ApprovalTask, Note, Status, TaskKind};
use paraf_core::Principal;
use paraf_pdf::font::FontFace;
use paraf_pdf::render::Letterhead;
use paraf_tasks::preview::Draft;
use paraf_tasks::sign::StepKind;

use crate::error::ErrorKind;
use crate::i18n::Lang;
use crate::pages::{error_page, Page};
use crate::AppState;

// ---------- texts ----------

/// This module's texts.
pub struct SubjectTexts {
    pub details: &'static str,
    pub open_subject: &'static str,
    pub preview: &'static str,
    pub preview_hint: &'static str,
    pub preview_failed: &'static str,
    pub open_pdf: &'static str,
    pub page_of: &'static str,
    pub part_sign: &'static str,
    pub part_paraf: &'static str,
    pub part_none: &'static str,
    pub doc_spt: &'static str,
    pub doc_sppd: &'static str,
    pub earlier: &'static str,
    pub approve_note: &'static str,
    pub approve_note_hint: &'static str,
    pub refuse: &'static str,
    pub reason: &'static str,
    pub reason_hint: &'static str,
    pub confirm: &'static str,
    /// "{what}", "{subject}" and "{role}" are filled in.
    pub confirm_sentence: &'static str,
    pub verb_sign: &'static str,
    pub verb_paraf: &'static str,
    pub and: &'static str,
    pub confirm_sign: &'static str,
    pub confirm_paraf: &'static str,
    pub cancel: &'static str,
    pub returned: &'static str,
    pub returned_by: &'static str,
    pub reason_label: &'static str,
    pub edit: &'static str,
    pub edit_then_resubmit: &'static str,
}

pub const ID: SubjectTexts = SubjectTexts {
    details: "Yang diputuskan",
    open_subject: "Buka halaman pengajuan",
    preview: "Dokumen yang akan ditandatangani",
    preview_hint: "Pratinjau: nomor diberikan dan tanda tangan elektronik dibubuhkan setelah persetujuan terakhir, di kotak bergaris putus-putus.",
    preview_failed: "Pratinjau dokumen tidak dapat disusun dari data pengajuan; periksa pengajuannya atau hubungi admin.",
    open_pdf: "Buka sebagai PDF",
    page_of: "Halaman {n} dari {total}",
    part_sign: "Anda menandatangani dokumen ini",
    part_paraf: "Anda memaraf dokumen ini",
    part_none: "Untuk diketahui; Anda tidak menandatanganinya",
    doc_spt: "Surat Tugas",
    doc_sppd: "SPPD",
    earlier: "Catatan sebelumnya",
    approve_note: "Catatan (tidak wajib)",
    approve_note_hint: "Tercatat di riwayat dan dikirim kepada pejabat berikutnya.",
    refuse: "Tolak atau kembalikan",
    reason: "Alasan",
    reason_hint: "Wajib diisi: mengapa ditolak, atau apa yang harus diperbaiki. Pengaju menerimanya lewat email.",
    confirm: "Konfirmasi",
    confirm_sentence: "Anda akan {what} untuk “{subject}” sebagai {role}.",
    verb_sign: "menandatangani",
    verb_paraf: "memaraf",
    and: "dan",
    confirm_sign: "Ya, tandatangani",
    confirm_paraf: "Ya, paraf",
    cancel: "Batal",
    returned: "Dikembalikan untuk perbaikan",
    returned_by: "oleh",
    reason_label: "Alasan",
    edit: "Ubah pengajuan",
    edit_then_resubmit: "Setelah diubah, ajukan kembali dari halaman pengajuan.",
};

pub const EN: SubjectTexts = SubjectTexts {
    details: "What you decide on",
    open_subject: "Open the request's page",
    preview: "Documents to be signed",
    preview_hint: "Preview: the number and the electronic signatures are added after the last approval, in the dashed boxes.",
    preview_failed: "The documents cannot be previewed from the request's data; check the request or ask an administrator.",
    open_pdf: "Open as PDF",
    page_of: "Page {n} of {total}",
    part_sign: "You sign this document",
    part_paraf: "You initial this document",
    part_none: "For your information; you do not sign it",
    doc_spt: "Surat Tugas (assignment letter)",
    doc_sppd: "SPPD (travel order)",
    earlier: "Earlier notes",
    approve_note: "Note (optional)",
    approve_note_hint: "Kept in the history and sent to the next official.",
    refuse: "Reject or return",
    reason: "Reason",
    reason_hint: "Required: why it is rejected, or what must be revised. The requester gets it by email.",
    confirm: "Confirm",
    confirm_sentence: "You are about to {what} for “{subject}” as {role}.",
    verb_sign: "sign",
    verb_paraf: "initial",
    and: "and",
    confirm_sign: "Yes, sign",
    confirm_paraf: "Yes, initial",
    cancel: "Cancel",
    returned: "Returned for revision",
    returned_by: "by",
    reason_label: "Reason",
    edit: "Edit the request",
    edit_then_resubmit: "After editing, resubmit it from the request's page.",
};

pub fn texts(lang: Lang) -> &'static SubjectTexts {
    match lang {
        Lang::Id => &ID,
        Lang::En => &EN,
    }
}

// ---------- views ----------

/// A note given with a decision, as a page shows it.
pub struct NoteLine {
    /// "Nama (Jabatan)".
    pub who: String,
    pub outcome: String,
    pub at: String,
    /// RFC 3339, for `<time datetime>`.
    pub at_iso: String,
    pub note: String,
}

pub fn note_line(n: &Note, lang: Lang) -> NoteLine {
    NoteLine {
        who: n.who(),
        outcome: lang.pick(&n.outcome.label()).to_string(),
        at: lang.date_time(n.at),
        at_iso: rfc3339(n.at),
        note: n.note.clone(),
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Why a request came back, by whom, and where to edit it (`templates/web/_returned.html`).
pub struct ReturnedView {
    pub sx: &'static SubjectTexts,
    pub note: NoteLine,
    /// The edit form, for the requester.
    pub edit: Option<String>,
    /// What follows the edit (on the revision task: resubmit from the order's page).
    pub hint: Option<&'static str>,
}

/// One document to be signed, as pages.
pub struct DocPreview {
    /// 1-based: `/tasks/{id}/pratinjau/{n}` is its PDF.
    pub n: usize,
    pub heading: String,
    pub part: &'static str,
    /// The viewer signs or initials it (shown unfolded).
    pub involved: bool,
    /// `<svg>` pages, drawn by paraf-pdf with every text escaped.
    pub pages: Vec<PagePreview>,
}

pub struct PagePreview {
    pub caption: String,
    pub svg: String,
}

/// How the viewer takes part in one document.
struct Part {
    name: String,
    kind: Option<StepKind>,
}

/// The subject part of a task page.
pub struct SubjectView {
    pub details: Option<crate::travel::TaskDetails>,
    pub previews: Vec<DocPreview>,
    pub preview_failed: bool,
    pub earlier: Vec<NoteLine>,
    pub returned: Option<ReturnedView>,
    /// The request is revised on its own page (a travel order): the task page links there
    /// instead of offering a bare "resubmit".
    pub revised_elsewhere: bool,
    parts: Vec<Part>,
}

impl SubjectView {
    /// Approving ends in documents signed or initialled: the approver confirms first.
    pub fn needs_confirmation(&self) -> bool {
        self.preview_failed || !self.parts.is_empty()
    }
}

/// The documents of an open chain step, as they would be signed today.
async fn drafts_of(state: &AppState, t: &ApprovalTask) -> Result<Vec<Draft>, String> {
    if t.kind != TaskKind::ApprovalStep || t.status != Status::Open {
        return Ok(Vec::new());
    }
    let travel = paraf_core::travel::Travel::new(state.table.clone(), state.clock.clone());
    let today = state.clock.now().to_offset(paraf_core::WIB).date();
    paraf_tasks::preview::drafts(&state.org, &travel, &t.request, today)
        .await
        .map_err(|e| e.to_string())
}

/// A document's name for people: its type and number when it has one already
/// ("Surat Tugas 12/KP.01-ST/32/2026"), "SPPD – Ahmad Fauzi", or its title.
fn doc_name(d: &Draft, sx: &SubjectTexts) -> String {
    let name = match d.kind.as_str() {
        "spt" => sx.doc_spt.to_string(),
        "sppd" => match d.data.pointer("/pegawai/nama").and_then(|v| v.as_str()) {
            Some(n) => format!("{} – {n}", sx.doc_sppd),
            None => sx.doc_sppd.to_string(),
        },
        _ => return d.title.clone(),
    };
    match d.data.get("nomor").and_then(|v| v.as_str()) {
        Some(n) if !n.is_empty() && n != paraf_tasks::travel::UNNUMBERED => format!("{name} {n}"),
        _ => name,
    }
}

fn part_of(d: &Draft, t: &ApprovalTask) -> Option<StepKind> {
    if d.signers.is_empty() {
        // A generic approval: the step's own action says how it signs.
        return Some(if t.action == "sign" {
            StepKind::Sign
        } else {
            StepKind::Paraf
        });
    }
    d.part_of(t.step)
}

/// Everything the task page shows about the subject of `t`.
pub async fn view(
    state: &AppState,
    t: &ApprovalTask,
    viewer: &Principal,
    lang: Lang,
) -> SubjectView {
    let sx = texts(lang);
    let details = crate::travel::task_details(state, &t.request, lang).await;
    let (drafts, preview_failed) = match drafts_of(state, t).await {
        Ok(d) => (d, false),
        Err(e) => {
            tracing::warn!(task = %t.id, error = %e, "the documents of a task cannot be previewed");
            (Vec::new(), true)
        }
    };
    let letterhead = Letterhead::kpu_jabar();
    let mut previews = Vec::new();
    let mut parts = Vec::new();
    let mut failed = preview_failed;
    for (i, d) in drafts.iter().enumerate() {
        let name = doc_name(d, sx);
        let kind = part_of(d, t);
        let svg = match d.pages(&letterhead) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(task = %t.id, error = %e, "a document of a task cannot be previewed");
                failed = true;
                continue;
            }
        };
        let total = svg.len();
        previews.push(DocPreview {
            n: i + 1,
            heading: name.clone(),
            part: match kind {
                Some(StepKind::Sign) => sx.part_sign,
                Some(StepKind::Paraf) => sx.part_paraf,
                None => sx.part_none,
            },
            involved: kind.is_some(),
            pages: svg
                .into_iter()
                .enumerate()
                .map(|(p, svg)| PagePreview {
                    caption: sx
                        .page_of
                        .replace("{n}", &(p + 1).to_string())
                        .replace("{total}", &total.to_string()),
                    svg,
                })
                .collect(),
        });
        if kind.is_some() {
            parts.push(Part { name, kind });
        }
    }
    let returned = t.returned().map(|n| ReturnedView {
        sx,
        note: note_line(n, lang),
        edit: t
            .request_path("editPath")
            .filter(|_| viewer.employee_id == t.requester_id)
            .map(str::to_string),
        hint: Some(sx.edit_then_resubmit),
    });
    SubjectView {
        details,
        previews,
        preview_failed: failed,
        earlier: if t.kind == TaskKind::ApprovalStep {
            t.earlier.iter().map(|n| note_line(n, lang)).collect()
        } else {
            Vec::new()
        },
        returned,
        revised_elsewhere: t.kind == TaskKind::Resubmit && t.request_path("editPath").is_some(),
        parts,
    }
}

/// "A, B dan C".
fn join_and(items: &[String], and: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {and} {last}", rest.join(", ")),
    }
}

/// The confirmation an approver answers before approving a task that ends in documents:
/// which documents they sign or initial, for what, and in which role.
pub struct ConfirmView {
    pub sentence: String,
    pub button: &'static str,
    pub note: String,
}

pub async fn confirmation(
    state: &AppState,
    s: &SubjectView,
    t: &ApprovalTask,
    viewer: &Principal,
    lang: Lang,
    note: &str,
) -> ConfirmView {
    let sx = texts(lang);
    let names = |k: StepKind| -> Vec<String> {
        s.parts
            .iter()
            .filter(|p| p.kind == Some(k))
            .map(|p| p.name.clone())
            .collect()
    };
    let (sign, paraf) = (names(StepKind::Sign), names(StepKind::Paraf));
    let mut what = Vec::new();
    if !sign.is_empty() {
        what.push(format!("{} {}", sx.verb_sign, join_and(&sign, sx.and)));
    }
    if !paraf.is_empty() {
        what.push(format!("{} {}", sx.verb_paraf, join_and(&paraf, sx.and)));
    }
    if what.is_empty() {
        // The documents could not be laid out: name what the request says it ends in.
        let verb = if t.action == "sign" {
            sx.verb_sign
        } else {
            sx.verb_paraf
        };
        what.push(format!("{verb} {}", t.document.clone().unwrap_or_default()));
    }
    let jabatan = match state.org.employee(&t.assignee_id).await {
        Ok(e) => e.jabatan,
        Err(_) => t.assignee_name.clone(),
    };
    let role = if viewer.employee_id == t.assignee_id {
        jabatan
    } else {
        format!("Plh. {jabatan}")
    };
    ConfirmView {
        sentence: sx
            .confirm_sentence
            .replace("{what}", &join_and(&what, sx.and))
            .replace("{subject}", &t.subject)
            .replace("{role}", &role),
        button: if sign.is_empty() && t.action != "sign" {
            sx.confirm_paraf
        } else {
            sx.confirm_sign
        },
        note: note.to_string(),
    }
}

// ---------- routes ----------

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/tasks/{id}/pratinjau/{n}", get(preview_pdf))
        .route(
            "/static/fonts/paraf-serif.ttf",
            get(|| font(FontFace::Regular)),
        )
        .route(
            "/static/fonts/paraf-serif-bold.ttf",
            get(|| font(FontFace::Bold)),
        )
}

/// The document face, for the SVG pages (SIL OFL 1.1, as in the PDFs).
async fn font(face: FontFace) -> Response {
    (
        [
            (header::CONTENT_TYPE, "font/ttf"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        face.data(),
    )
        .into_response()
}

/// Document `n` of an open chain step as an unsigned PDF: for whoever may see the task
/// (the assignee, their Plh, the requester, admins); 404 when there is no such document.
async fn preview_pdf(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path((task_id, n)): axum::extract::Path<(String, String)>,
) -> Response {
    let a = paraf_core::approvals::Approvals::new(state.table.clone(), state.clock.clone());
    let t = match a.get(&task_id).await {
        Ok(t) => t,
        Err(e) => return error_page(page.lang, crate::ApiError::from(e).kind),
    };
    match a.may_view(&t, &page.id.0).await {
        Ok(true) => {}
        Ok(false) => return error_page(page.lang, ErrorKind::Forbidden),
        Err(e) => return error_page(page.lang, crate::ApiError::from(e).kind),
    }
    let drafts = match drafts_of(&state, &t).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(task = %t.id, error = %e, "the documents of a task cannot be previewed");
            return error_page(page.lang, ErrorKind::Internal);
        }
    };
    let Some(d) = n
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| drafts.get(i))
    else {
        return error_page(page.lang, ErrorKind::NotFound);
    };
    match d.pdf(&Letterhead::kpu_jabar(), state.clock.now()) {
        Ok(pdf) => {
            let name = doc_name(d, texts(page.lang)).replace(['"', '\\', '/'], " ");
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_string()),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "inline; filename=\"{}.pdf\"",
                            ascii_name(&format!("Pratinjau {name}"))
                        ),
                    ),
                ],
                pdf,
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(task = %t.id, error = %e, "a document of a task cannot be previewed");
            error_page(page.lang, ErrorKind::Internal)
        }
    }
}

/// A header-safe file name (ASCII letters, digits, spaces and a few marks).
fn ascii_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " -_.()".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_sentences_in_both_languages() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join_and(&v(&[]), "dan"), "");
        assert_eq!(join_and(&v(&["Surat Tugas"]), "dan"), "Surat Tugas");
        assert_eq!(join_and(&v(&["A", "B", "C"]), "and"), "A, B and C");
    }

    #[test]
    fn a_file_name_keeps_to_ascii() {
        assert_eq!(
            ascii_name("Pratinjau SPPD – Ahmad"),
            "Pratinjau SPPD - Ahmad"
        );
    }

    #[test]
    fn both_languages_fill_the_same_placeholders() {
        for x in [&ID, &EN] {
            for p in ["{what}", "{subject}", "{role}"] {
                assert!(x.confirm_sentence.contains(p));
            }
            assert!(x.page_of.contains("{n}") && x.page_of.contains("{total}"));
        }
    }
}
