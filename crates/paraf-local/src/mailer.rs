//! Local `Mailer`s: [`SmtpMailer`] when an SMTP server is configured, else
//! [`OutboxMailer`], which writes each message as an RFC 5322 `.eml` file and logs its
//! links so a developer can click them.
//!
//! Outbox layout: `<dir>/<YYYYMMDDTHHMMSSZ>-<uuid v7>.eml`, one complete message per file
//! (written to `.<name>.tmp` and renamed, so a reader never meets half a message); names
//! sort by time.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use paraf_core::{Email, Mail, Mailer, MailerError};
use time::macros::format_description;
use time::OffsetDateTime;

/// The sender when none is configured.
pub const DEFAULT_FROM: &str = "paraf <noreply@paraf.local>";

fn default_from() -> Mailbox {
    // The parts of DEFAULT_FROM, known valid (a test checks they agree), so no parse
    // and no failure path at construction.
    Mailbox::new(
        Some("paraf".into()),
        lettre::Address::new_dangerous("noreply", "paraf.local"),
    )
}

/// Parses a sender such as `KPU Jabar <noreply@kpu-jabar.go.id>` or a bare address.
fn parse_from(from: &str) -> Result<Mailbox, MailerError> {
    let mailbox: Mailbox = from
        .parse()
        .map_err(|_| MailerError::InvalidAddress(from.to_owned()))?;
    Email::parse(mailbox.email.as_ref())
        .map_err(|_| MailerError::InvalidAddress(from.to_owned()))?;
    Ok(mailbox)
}

/// A built message and the id it carries in its `Message-ID` header.
struct Built {
    message: Message,
    id: String,
}

/// Checks every address (before anything is sent) and builds the MIME message.
fn build(from: &Mailbox, mail: &Mail) -> Result<Built, MailerError> {
    if mail.to.is_empty() {
        return Err(MailerError::InvalidAddress("(no recipient)".into()));
    }
    let mut builder = Message::builder().from(from.clone());
    for to in &mail.to {
        let bad = || MailerError::InvalidAddress(to.clone());
        let email = Email::parse(to).map_err(|_| bad())?;
        let address: lettre::Address = email.as_str().parse().map_err(|_| bad())?;
        builder = builder.to(Mailbox::new(None, address));
    }
    let id = uuid::Uuid::now_v7().to_string();
    // Line breaks in a subject would start new headers; the domain never means them.
    let subject: String = mail
        .subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let builder = builder
        .subject(subject)
        .message_id(Some(format!("<{id}@{}>", from.email.domain())));
    let message = match &mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(SinglePart::plain(mail.text.clone())),
    }
    .map_err(|e| MailerError::Unavailable(format!("building the message: {e}")))?;
    Ok(Built { message, id })
}

/// Writes mail to `.eml` files in a folder instead of sending it.
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl OutboxMailer {
    /// An outbox in `dir` (created on the first mail), sending as [`DEFAULT_FROM`].
    pub fn new(dir: PathBuf) -> OutboxMailer {
        OutboxMailer {
            dir,
            from: default_from(),
        }
    }

    /// The same outbox with another sender (`Name <address>` or a bare address).
    pub fn with_from(mut self, from: &str) -> Result<OutboxMailer, MailerError> {
        self.from = parse_from(from)?;
        Ok(self)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    /// Returns the file name without `.eml`.
    async fn send(&self, mail: Mail) -> Result<String, MailerError> {
        let built = build(&self.from, &mail)?;
        let stamp = OffsetDateTime::now_utc()
            .format(format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .map_err(|e| MailerError::Unavailable(format!("time: {e}")))?;
        let stem = format!("{stamp}-{}", built.id);
        let bytes = built.message.formatted();
        let dir = self.dir.clone();
        let name = format!("{stem}.eml");
        let path = tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes))
            .await
            .map_err(|e| MailerError::Unavailable(format!("outbox task: {e}")))??;

        tracing::info!(
            to = %mail.to.join(", "),
            subject = %mail.subject,
            file = %path.display(),
            "mail written to the outbox"
        );
        for link in &mail.links {
            tracing::info!(to = %mail.to.join(", "), %link, "mail link");
        }
        Ok(stem)
    }
}

fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, MailerError> {
    let err = |what: &Path, e: std::io::Error| {
        MailerError::Unavailable(format!("outbox {}: {e}", what.display()))
    };
    fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(err(&path, e));
    }
    Ok(path)
}

/// Sends mail through an SMTP server.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport's Debug could include credentials.
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `url`, lettre's connection URL:
    /// `smtp://host:port` (plain), `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// `smtps://user:pass@host:465` (TLS); sending as [`DEFAULT_FROM`].
    pub fn from_url(url: &str) -> Result<SmtpMailer, MailerError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // The URL may hold a password: say what is wrong without echoing it.
            .map_err(|e| MailerError::Unavailable(format!("SMTP URL: {e}")))?
            .build();
        Ok(SmtpMailer {
            transport,
            from: default_from(),
        })
    }

    /// The same mailer with another sender (`Name <address>` or a bare address).
    pub fn with_from(mut self, from: &str) -> Result<SmtpMailer, MailerError> {
        self.from = parse_from(from)?;
        Ok(self)
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    /// Returns the `Message-ID` (without angle brackets) the server received.
    async fn send(&self, mail: Mail) -> Result<String, MailerError> {
        let built = build(&self.from, &mail)?;
        self.transport
            .send(built.message)
            .await
            .map_err(|e| MailerError::Unavailable(format!("SMTP: {e}")))?;
        // Links are capabilities (approval links): in the log only in the dev outbox.
        tracing::info!(to = %mail.to.join(", "), subject = %mail.subject, id = %built.id, "mail sent");
        Ok(format!("{}@{}", built.id, self.from.email.domain()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_sender_parses_to_what_is_used() {
        let from: Mailbox = DEFAULT_FROM.parse().unwrap();
        assert_eq!(from, default_from());
        assert_eq!(from.email.to_string(), "noreply@paraf.local");
        assert_eq!(from.name.as_deref(), Some("paraf"));
    }

    #[test]
    fn a_sender_that_is_not_an_address_is_refused() {
        let outbox = OutboxMailer::new(PathBuf::from("/nonexistent"));
        for bad in ["", "paraf", "paraf <noreply>", "a@b@c.d"] {
            assert!(
                matches!(
                    outbox.clone().with_from(bad),
                    Err(MailerError::InvalidAddress(_))
                ),
                "{bad}"
            );
        }
        let ok = outbox
            .with_from("KPU Jabar <noreply@kpu-jabar.go.id>")
            .unwrap();
        assert_eq!(ok.from.email.to_string(), "noreply@kpu-jabar.go.id");
    }

    #[test]
    fn a_subject_cannot_smuggle_headers() {
        let mail = Mail {
            to: vec!["a@b.id".into()],
            subject: "Hi\r\nBcc: evil@x.id".into(),
            text: "t".into(),
            html: None,
            links: vec![],
        };
        let built = build(&default_from(), &mail).unwrap();
        let text = String::from_utf8(built.message.formatted()).unwrap();
        assert!(!text.contains("\r\nBcc:"), "{text}");
    }

    #[test]
    fn an_smtp_url_that_is_not_one_is_refused() {
        assert!(SmtpMailer::from_url("http://example.com").is_err());
        assert!(SmtpMailer::from_url("smtp://127.0.0.1:2525").is_ok());
    }
}
