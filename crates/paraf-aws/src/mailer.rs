//! [`Mailer`] on SES v2 (`SendEmail` with simple content, UTF-8). The sender address must
//! be a verified SES identity; addresses are checked here first, so a bad recipient never
//! costs a send.

use async_trait::async_trait;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sesv2::Client;
use paraf_core::{Email, Mail, Mailer, MailerError};

#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
    from: Email,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// `from` must be (an address of) a verified SES identity.
    pub fn new(client: Client, from: Email) -> Self {
        SesMailer {
            client,
            from,
            configuration_set: None,
        }
    }

    /// Sends through a configuration set (event publishing: bounces, complaints).
    pub fn with_configuration_set(mut self, name: impl Into<String>) -> Self {
        self.configuration_set = Some(name.into());
        self
    }
}

fn utf8(text: &str) -> Result<Content, MailerError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailerError::Unavailable(format!("mail content: {e}")))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: Mail) -> Result<String, MailerError> {
        if mail.to.is_empty() {
            return Err(MailerError::InvalidAddress("(no recipient)".into()));
        }
        let to = mail
            .to
            .iter()
            .map(|a| {
                Email::parse(a)
                    .map(|e| e.as_str().to_string())
                    .map_err(|_| MailerError::InvalidAddress(a.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut body = Body::builder().text(utf8(&mail.text)?);
        if let Some(html) = &mail.html {
            body = body.html(utf8(html)?);
        }
        let message = Message::builder()
            .subject(utf8(&mail.subject)?)
            .body(body.build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(self.from.as_str())
            .destination(Destination::builder().set_to_addresses(Some(to)).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|err| {
                let code = err.code().unwrap_or("").to_string();
                let message = err.message().unwrap_or("").to_string();
                tracing::error!(code, message, error = ?aws_sdk_sesv2::error::DisplayErrorContext(&err), "SES SendEmail failed");
                MailerError::Unavailable("SES SendEmail failed".into())
            })?;
        match out.message_id() {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(MailerError::Unavailable(
                "SES returned no message id".into(),
            )),
        }
    }
}
