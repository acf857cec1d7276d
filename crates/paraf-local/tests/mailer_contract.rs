//! The `Mailer` contract against the outbox and against SMTP (a tiny in-process SMTP
//! sink on loopback), plus proof that each delivered the message whole.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use paraf_core::{Mail, Mailer, MailerError};
use paraf_local::mailer::{OutboxMailer, SmtpMailer};

/// One message as the sink received it.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server on loopback: enough of RFC 5321 for lettre to hand over a
/// message. Plain threads and std sockets keep it independent of the runtime under test.
struct SmtpSink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag and ends.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl SmtpSink {
    async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (store, stopped) = (Arc::clone(&received), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    let _ = serve(stream, &store);
                });
            }
        });
        SmtpSink {
            port,
            received,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("sink lock").clone()
    }
}

fn serve(stream: TcpStream, store: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    let mut write = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    write.write_all(b"220 sink ESMTP\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 sink\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_string();
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_string());
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                // Undo dot-stuffing (RFC 5321 4.5.2).
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            store.lock().expect("sink lock").push(Received {
                from: from.clone(),
                to: to.clone(),
                data,
            });
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
            b"250 OK\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply)?;
    }
}

/// Header fields (unfolded, names lowercased) and body of an RFC 5322 message.
fn parse(message: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = message
        .split_once("\r\n\r\n")
        .expect("a header section ended by an empty line");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("a folded line follows a header");
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("`name: value`");
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    (headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    let found: Vec<_> = headers.iter().filter(|(n, _)| n == name).collect();
    assert_eq!(found.len(), 1, "one `{name}` header in {headers:?}");
    &found[0].1
}

fn outbox_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.expect("entry").path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn mail() -> Mail {
    paraf_contract::mailer::approval_mail(&["kabag@kpu-jabar.go.id"])
}

mod outbox {
    use super::*;

    async fn fresh() -> (OutboxMailer, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        (OutboxMailer::new(dir.path().join("outbox")), dir)
    }

    paraf_contract::mailer_contract_tests!(fresh());

    #[tokio::test]
    async fn a_sent_mail_is_a_complete_eml_file_in_the_outbox() {
        let (mailer, dir) = fresh().await;
        let id = mailer.send(mail()).await.unwrap();
        let files = outbox_files(&dir.path().join("outbox"));
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(
            files[0].file_name().unwrap().to_string_lossy(),
            format!("{id}.eml")
        );
        let text = std::fs::read_to_string(&files[0]).unwrap();
        let (headers, body) = parse(&text);
        assert_eq!(
            header(&headers, "subject"),
            "Persetujuan SPPD 123/PL.01-SD/32/2026"
        );
        assert_eq!(header(&headers, "to"), "kabag@kpu-jabar.go.id");
        assert_eq!(header(&headers, "from"), "paraf <noreply@paraf.local>");
        assert!(!header(&headers, "date").is_empty());
        assert!(header(&headers, "message-id").ends_with("@paraf.local>"));
        assert!(header(&headers, "content-type").starts_with("text/plain"));
        assert!(
            body.contains("Mohon persetujuan SPPD a.n. Siti Aminah."),
            "{body}"
        );
        assert!(body.contains("https://paraf.example/a/tok1"), "{body}");
    }

    #[tokio::test]
    async fn outbox_files_sort_in_sending_order_and_leave_no_temp_files() {
        let (mailer, dir) = fresh().await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(mailer.send(mail()).await.unwrap());
        }
        let names: Vec<String> = outbox_files(&dir.path().join("outbox"))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let want: Vec<String> = ids.iter().map(|id| format!("{id}.eml")).collect();
        assert_eq!(names, want);
    }

    #[tokio::test]
    async fn html_mail_carries_both_parts_and_a_configured_sender() {
        let (mailer, dir) = fresh().await;
        let mailer = mailer
            .with_from("KPU Jawa Barat <noreply@kpu-jabar.go.id>")
            .unwrap();
        let mut m = mail();
        m.html = Some("<p><a href=\"https://paraf.example/a/tok1\">Setujui</a></p>".into());
        mailer.send(m).await.unwrap();
        let files = outbox_files(&dir.path().join("outbox"));
        let text = std::fs::read_to_string(&files[0]).unwrap();
        let (headers, body) = parse(&text);
        assert_eq!(
            header(&headers, "from"),
            "\"KPU Jawa Barat\" <noreply@kpu-jabar.go.id>"
        );
        assert!(header(&headers, "content-type").starts_with("multipart/alternative"));
        assert!(body.contains("Content-Type: text/plain"), "{body}");
        assert!(body.contains("Content-Type: text/html"), "{body}");
        assert!(body.contains("Setujui"), "{body}");
    }

    #[tokio::test]
    async fn a_refused_mail_writes_nothing() {
        let (mailer, dir) = fresh().await;
        let mut m = mail();
        m.to.push("ppk@".into());
        assert!(matches!(
            mailer.send(m).await,
            Err(MailerError::InvalidAddress(_))
        ));
        assert!(outbox_files(&dir.path().join("outbox")).is_empty());
    }
}

mod smtp {
    use super::*;

    async fn fresh() -> (SmtpMailer, SmtpSink) {
        let sink = SmtpSink::start().await;
        (SmtpMailer::from_url(&sink.url()).expect("smtp url"), sink)
    }

    paraf_contract::mailer_contract_tests!(fresh());

    #[tokio::test]
    async fn the_smtp_server_receives_the_whole_message() {
        let (mailer, sink) = fresh().await;
        let mut m = paraf_contract::mailer::approval_mail(&[
            "kabag@kpu-jabar.go.id",
            "ppk@kpu-jabar.go.id",
        ]);
        m.text.push_str(".a line starting with a dot survives\n");
        let id = mailer.send(m).await.unwrap();

        let got = sink.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].from, "<noreply@paraf.local>");
        assert_eq!(
            got[0].to,
            vec!["<kabag@kpu-jabar.go.id>", "<ppk@kpu-jabar.go.id>"]
        );
        let (headers, body) = parse(&got[0].data);
        assert_eq!(
            header(&headers, "subject"),
            "Persetujuan SPPD 123/PL.01-SD/32/2026"
        );
        assert_eq!(header(&headers, "message-id"), format!("<{id}>"));
        assert!(
            body.contains("Mohon persetujuan SPPD a.n. Siti Aminah."),
            "{body}"
        );
        assert!(body.contains("https://paraf.example/a/tok1"), "{body}");
        assert!(
            body.contains("\r\n.a line starting with a dot survives"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_refused_mail_never_reaches_the_server() {
        let (mailer, sink) = fresh().await;
        let r = mailer
            .send(paraf_contract::mailer::approval_mail(&["not-an-address"]))
            .await;
        assert!(matches!(r, Err(MailerError::InvalidAddress(_))));
        assert!(sink.received().is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable_not_a_bad_address() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mailer = SmtpMailer::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
        assert!(matches!(
            mailer.send(mail()).await,
            Err(MailerError::Unavailable(_))
        ));
    }
}
