//! The `Mailer` contract suite against SES v2 on moto, plus a check that a sent message
//! arrives whole (moto records sent mail at `/moto-api/data.json`).

mod common;

use paraf_aws::SesMailer;
use paraf_core::{Email, Mail, Mailer};

const FROM: &str = "paraf@kpu-jabar.go.id";

async fn fresh() -> (SesMailer, ()) {
    let clients = common::Moto::shared().clients().await;
    // SES sends only from a verified identity; moto verifies new identities at once.
    common::ses_identity(&clients, FROM).await;
    let from = Email::parse(FROM).expect("sender address");
    (SesMailer::new(clients.sesv2, from), ())
}

paraf_contract::mailer_contract_tests!(fresh());

#[tokio::test]
async fn a_sent_mail_arrives_with_its_subject_body_and_recipients() {
    let (mailer, ()) = fresh().await;
    let subject = format!("Persetujuan {}", common::unique("sppd"));
    let id = mailer
        .send(Mail {
            to: vec!["kabag@kpu-jabar.go.id".into()],
            subject: subject.clone(),
            text: "Setujui: https://paraf.example/a/tok1\n".into(),
            html: Some("<a href=\"https://paraf.example/a/tok1\">Setujui</a>".into()),
            links: vec!["https://paraf.example/a/tok1".into()],
        })
        .await
        .expect("send");
    let url = format!("{}/moto-api/data.json", common::Moto::shared().endpoint);
    let data: serde_json::Value = reqwest::get(&url)
        .await
        .expect("moto data")
        .json()
        .await
        .expect("json");
    let text = data.to_string();
    assert!(text.contains(&id), "message id {id} recorded");
    assert!(text.contains(&subject), "subject recorded");
    assert!(
        text.contains("https://paraf.example/a/tok1"),
        "body recorded"
    );
    assert!(text.contains("kabag@kpu-jabar.go.id"), "recipient recorded");
}
