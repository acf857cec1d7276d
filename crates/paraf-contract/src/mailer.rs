//! Contract suite of the [`Mailer`] port: what every adapter (outbox, SMTP, SES, …) must do.
//!
//! Each case is a plain `pub async fn case(mailer: &dyn Mailer)` that panics when the
//! adapter breaks the contract; [`mailer_contract_tests!`](crate::mailer_contract_tests)
//! turns every case into one `#[tokio::test]`.
//!
//! ```text
//! // crates/<adapter>/tests/mailer_contract.rs
//! paraf_contract::mailer_contract_tests!(async {
//!     let dir = tempfile::tempdir().unwrap();
//!     (OutboxMailer::new(dir.path().to_path_buf()), dir)
//! });
//! ```
//!
//! `$make` is an expression evaluated afresh in every test; it must be a future whose
//! output is a pair `(adapter, guard)`: the adapter (any type implementing [`Mailer`]) and
//! a guard (temp dir, SMTP sink, emulator handle, `()`) kept alive until the test ends.
//! The caller's crate needs `tokio` with the `macros` and `rt-multi-thread` features.
//!
//! Where a sent message ends up differs per adapter, so proving that it arrived whole
//! (subject, body, links) is each adapter's own test; this suite checks what every
//! adapter answers.

use paraf_core::{Mail, Mailer, MailerError};

/// Expands into one `#[tokio::test]` per contract case; see the [module docs](crate::mailer).
#[macro_export]
macro_rules! mailer_contract_tests {
    ($make:expr) => {
        $crate::__mailer_contract_cases!($make;
            sending_valid_mail_returns_an_id,
            every_mail_gets_its_own_id,
            mail_with_html_links_and_several_recipients_is_sent,
            an_invalid_recipient_is_refused,
            one_invalid_recipient_among_valid_ones_refuses_the_mail,
            mail_without_recipients_is_refused,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __mailer_contract_cases {
    ($make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $make.await;
                $crate::mailer::$case(&fixture.0).await;
            }
        )+
    };
}

/// A typical approval mail, as the domain sends it.
pub fn approval_mail(to: &[&str]) -> Mail {
    Mail {
        to: to.iter().map(|s| s.to_string()).collect(),
        subject: "Persetujuan SPPD 123/PL.01-SD/32/2026".into(),
        text: "Mohon persetujuan SPPD a.n. Siti Aminah.\n\nSetujui: https://paraf.example/a/tok1\n"
            .into(),
        html: None,
        links: vec!["https://paraf.example/a/tok1".into()],
    }
}

pub async fn sending_valid_mail_returns_an_id(mailer: &dyn Mailer) {
    let id = mailer
        .send(approval_mail(&["kabag@kpu-jabar.go.id"]))
        .await
        .expect("send");
    assert!(!id.trim().is_empty());
}

pub async fn every_mail_gets_its_own_id(mailer: &dyn Mailer) {
    let a = mailer
        .send(approval_mail(&["kabag@kpu-jabar.go.id"]))
        .await
        .expect("send");
    let b = mailer
        .send(approval_mail(&["kabag@kpu-jabar.go.id"]))
        .await
        .expect("send");
    assert_ne!(a, b);
}

pub async fn mail_with_html_links_and_several_recipients_is_sent(mailer: &dyn Mailer) {
    let mut mail = approval_mail(&["kabag@kpu-jabar.go.id", "PPK@KPU-JABAR.GO.ID"]);
    mail.html = Some(
        "<p>Mohon persetujuan.</p><p><a href=\"https://paraf.example/a/tok1\">Setujui</a> \
         <a href=\"https://paraf.example/r/tok1\">Tolak</a></p>"
            .into(),
    );
    mail.links.push("https://paraf.example/r/tok1".into());
    let id = mailer.send(mail).await.expect("send");
    assert!(!id.trim().is_empty());
}

fn assert_invalid(result: Result<String, MailerError>, what: &str) {
    assert!(
        matches!(result, Err(MailerError::InvalidAddress(_))),
        "{what}: {result:?}"
    );
}

pub async fn an_invalid_recipient_is_refused(mailer: &dyn Mailer) {
    for to in [
        "not-an-address",
        "kabag@",
        "@kpu-jabar.go.id",
        "kabag@localhost",
        "a b@kpu-jabar.go.id",
        "kabag@kpu-jabar.go.id\r\nBcc: x@y.id",
    ] {
        assert_invalid(mailer.send(approval_mail(&[to])).await, to);
    }
}

pub async fn one_invalid_recipient_among_valid_ones_refuses_the_mail(mailer: &dyn Mailer) {
    let mail = approval_mail(&[
        "kabag@kpu-jabar.go.id",
        "ppk@",
        "sekretaris@kpu-jabar.go.id",
    ]);
    match mailer.send(mail).await {
        Err(MailerError::InvalidAddress(a)) => assert!(a.contains("ppk@"), "names `{a}`"),
        other => panic!("expected InvalidAddress(ppk@), got {other:?}"),
    }
}

pub async fn mail_without_recipients_is_refused(mailer: &dyn Mailer) {
    assert_invalid(mailer.send(approval_mail(&[])).await, "no recipient");
}
