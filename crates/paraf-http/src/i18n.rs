//! Languages and the small typed text catalogue the pages and error messages use.
//!
//! Indonesian is the default; English when `?lang=en`, the `paraf_lang` cookie (set when a
//! page is visited with `?lang=`), or an `Accept-Language` that prefers English.

use axum::http::header;
use axum::http::request::Parts;
use paraf_core::Text;
use time::{Date, Month};

/// Cookie that remembers the language chosen with `?lang=`.
pub const LANG_COOKIE: &str = "paraf_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Id,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "id" | "in" => Some(Lang::Id),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Id => &ID,
            Lang::En => &EN,
        }
    }

    /// A domain message in this language.
    pub fn pick(self, text: &Text) -> &str {
        text.get(self == Lang::En)
    }

    /// `?lang=` explicitly asked for in the query string, if any.
    pub fn from_query(query: Option<&str>) -> Option<Lang> {
        query?
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| Lang::parse(v))
    }

    /// The language of a request: query, then cookie, then `Accept-Language`.
    pub fn of_request(parts: &Parts) -> Lang {
        if let Some(l) = Lang::from_query(parts.uri.query()) {
            return l;
        }
        let cookie = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == LANG_COOKIE)
            .and_then(|(_, v)| Lang::parse(v));
        if let Some(l) = cookie {
            return l;
        }
        parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Lang::from_accept_language)
            .unwrap_or_default()
    }

    /// English only when it is preferred over Indonesian (highest q wins; ties: first).
    pub fn from_accept_language(value: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let Some(lang) = Lang::parse(primary) else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    /// "Sabtu, 28 November 2026" / "Saturday, 28 November 2026".
    pub fn long_date(self, d: Date) -> String {
        let t = self.texts();
        let wd = t.weekdays[d.weekday().number_days_from_monday() as usize];
        let m = t.months[month_index(d.month())];
        format!("{wd}, {} {m} {}", d.day(), d.year())
    }
}

impl Lang {
    /// An instant as people read it, in WIB: "7 Desember 2026 09.05 WIB" /
    /// "7 December 2026 09:05 WIB".
    pub fn date_time(self, at: time::OffsetDateTime) -> String {
        let wib = at.to_offset(paraf_core::WIB);
        let d = wib.date();
        let m = self.texts().months[month_index(d.month())];
        let sep = match self {
            Lang::Id => '.',
            Lang::En => ':',
        };
        format!(
            "{} {m} {} {:02}{sep}{:02} WIB",
            d.day(),
            d.year(),
            wib.hour(),
            wib.minute()
        )
    }
}

fn month_index(m: Month) -> usize {
    u8::from(m) as usize - 1
}

impl Texts {
    /// One entry of the catalogue in both languages, for messages that travel as a
    /// [`Text`] (field errors): `Texts::both(|t| t.field_required)`.
    pub fn both(entry: fn(&Texts) -> &'static str) -> Text {
        Text::new(entry(&ID), entry(&EN))
    }
}

/// Every user-facing text of the shell and the API's error messages.
#[derive(Debug)]
pub struct Texts {
    pub lang: &'static str,
    pub app_name: &'static str,
    pub skip_to_content: &'static str,
    pub main_nav: &'static str,
    pub nav_home: &'static str,
    pub nav_inbox: &'static str,
    pub nav_agenda: &'static str,
    pub nav_disposisi: &'static str,
    pub nav_absensi: &'static str,
    pub nav_sppd: &'static str,
    pub nav_admin: &'static str,
    pub logout: &'static str,
    pub signed_in_as: &'static str,
    pub switch_lang: &'static str,
    pub switch_lang_code: &'static str,
    // login
    pub login_title: &'static str,
    pub login_label: &'static str,
    pub login_hint: &'static str,
    pub password_label: &'static str,
    pub login_button: &'static str,
    pub login_failed: &'static str,
    pub login_throttled: &'static str,
    pub logged_out: &'static str,
    pub error_summary_title: &'static str,
    // dashboard
    pub dashboard_title: &'static str,
    pub today: &'static str,
    pub counter_to_approve: &'static str,
    pub counter_to_sign: &'static str,
    pub counter_unread_dispositions: &'static str,
    pub counter_agenda_today: &'static str,
    pub services: &'static str,
    pub desc_agenda: &'static str,
    pub desc_disposisi: &'static str,
    pub desc_absensi: &'static str,
    pub desc_sppd: &'static str,
    pub desc_inbox: &'static str,
    pub coming_soon: &'static str,
    pub coming_soon_body: &'static str,
    // admin
    pub admin_title: &'static str,
    pub employees_title: &'static str,
    pub units_title: &'static str,
    pub signing_title: &'static str,
    pub col_nip: &'static str,
    pub col_name: &'static str,
    pub col_email: &'static str,
    pub col_jabatan: &'static str,
    pub col_unit: &'static str,
    pub col_roles: &'static str,
    pub col_code: &'static str,
    pub col_kind: &'static str,
    pub col_parent: &'static str,
    pub col_head: &'static str,
    pub col_line: &'static str,
    pub col_status: &'static str,
    pub col_errors: &'static str,
    pub next_page: &'static str,
    pub no_employees: &'static str,
    pub no_units: &'static str,
    pub create_employee: &'static str,
    pub create_unit: &'static str,
    pub initial_password: &'static str,
    pub optional: &'static str,
    pub supervisor_label: &'static str,
    pub roles_hint: &'static str,
    pub save: &'static str,
    pub import_title: &'static str,
    pub import_file: &'static str,
    pub import_hint: &'static str,
    pub import_button: &'static str,
    pub import_result: &'static str,
    pub status_imported: &'static str,
    pub status_rejected: &'static str,
    pub employee_created: &'static str,
    pub unit_created: &'static str,
    pub set_head: &'static str,
    pub head_label: &'static str,
    pub head_set: &'static str,
    // errors
    pub forbidden_title: &'static str,
    pub forbidden_body: &'static str,
    pub csrf_body: &'static str,
    pub not_found_title: &'static str,
    pub server_error_title: &'static str,
    pub err_malformed: &'static str,
    pub err_unauthenticated: &'static str,
    pub err_forbidden: &'static str,
    pub err_not_found: &'static str,
    pub err_conflict: &'static str,
    pub err_stale: &'static str,
    pub err_validation: &'static str,
    pub err_too_many: &'static str,
    pub err_timeout: &'static str,
    pub err_internal: &'static str,
    pub err_too_large: &'static str,
    pub err_unsupported: &'static str,
    // field problems the HTTP layer finds itself
    pub field_required: &'static str,
    pub field_not_utf8: &'static str,
    pub field_principal_or_acting: &'static str,
    pub weekdays: [&'static str; 7],
    pub months: [&'static str; 12],
}

pub const ID: Texts = Texts {
    lang: "id",
    app_name: "paraf",
    skip_to_content: "Langsung ke isi",
    main_nav: "Navigasi utama",
    nav_home: "Beranda",
    nav_inbox: "Kotak masuk & persetujuan",
    nav_agenda: "e-Agenda",
    nav_disposisi: "e-Disposisi",
    nav_absensi: "e-Absensi",
    nav_sppd: "e-SPPD",
    nav_admin: "Admin",
    logout: "Keluar",
    signed_in_as: "Masuk sebagai",
    switch_lang: "English",
    switch_lang_code: "en",
    login_title: "Masuk",
    login_label: "NIP atau email",
    login_hint: "18 digit NIP (boleh dengan spasi) atau alamat email dinas.",
    password_label: "Kata sandi",
    login_button: "Masuk",
    login_failed: "NIP/email atau kata sandi salah.",
    login_throttled: "Terlalu banyak percobaan masuk yang gagal dari jaringan ini. Tunggu dua menit, lalu coba lagi.",
    logged_out: "Anda telah keluar.",
    error_summary_title: "Ada yang perlu diperbaiki",
    dashboard_title: "Beranda",
    today: "Hari ini",
    counter_to_approve: "Menunggu paraf/persetujuan",
    counter_to_sign: "Menunggu tanda tangan",
    counter_unread_dispositions: "Disposisi belum dibaca",
    counter_agenda_today: "Agenda hari ini",
    services: "Layanan",
    desc_agenda: "Jadwal kegiatan pimpinan dan pegawai, dipublikasikan dan dievaluasi.",
    desc_disposisi: "Registrasi surat masuk dan disposisi berjenjang kepada bawahan.",
    desc_absensi: "Presensi harian, izin, sakit, cuti dan dinas luar.",
    desc_sppd: "Surat Tugas dan SPPD dengan paraf berjenjang dan tanda tangan elektronik.",
    desc_inbox: "Permohonan yang menunggu paraf, tanda tangan atau tindak lanjut Anda.",
    coming_soon: "Segera hadir",
    coming_soon_body: "Layanan ini sedang dibangun dan belum dapat digunakan.",
    admin_title: "Administrasi",
    employees_title: "Pegawai",
    units_title: "Unit kerja",
    signing_title: "Penandatanganan gagal",
    col_nip: "NIP",
    col_name: "Nama",
    col_email: "Email",
    col_jabatan: "Jabatan",
    col_unit: "Unit",
    col_roles: "Peran",
    col_code: "Kode",
    col_kind: "Jenis",
    col_parent: "Unit induk",
    col_head: "Kepala unit",
    col_line: "Baris",
    col_status: "Status",
    col_errors: "Keterangan",
    next_page: "Halaman berikutnya",
    no_employees: "Belum ada pegawai.",
    no_units: "Belum ada unit.",
    create_employee: "Tambah pegawai",
    create_unit: "Tambah unit",
    initial_password: "Kata sandi awal",
    optional: "opsional",
    supervisor_label: "Atasan (NIP atau id)",
    roles_hint: "Pisahkan dengan koma: staff, approver, ppk, bendahara, archivist, admin, agendaris.",
    save: "Simpan",
    import_title: "Impor pegawai dari CSV",
    import_file: "Berkas CSV",
    import_hint: "Kolom: nip, nama, email, jabatan, unit, pangkat, golongan, atasan, peran (peran dipisah ;).",
    import_button: "Impor",
    import_result: "Hasil impor",
    status_imported: "diimpor",
    status_rejected: "ditolak",
    employee_created: "Pegawai ditambahkan.",
    unit_created: "Unit ditambahkan.",
    set_head: "Tetapkan kepala",
    head_label: "NIP kepala unit",
    head_set: "Kepala unit ditetapkan.",
    forbidden_title: "Akses ditolak",
    forbidden_body: "Anda tidak berhak membuka halaman ini.",
    csrf_body: "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman dan coba lagi.",
    not_found_title: "Tidak ditemukan",
    server_error_title: "Terjadi kesalahan",
    err_malformed: "Permintaan tidak dapat dibaca",
    err_unauthenticated: "Silakan masuk terlebih dahulu",
    err_forbidden: "Anda tidak berhak melakukan ini",
    err_not_found: "Data tidak ditemukan",
    err_conflict: "Data bertabrakan dengan yang sudah ada",
    err_stale: "Data telah berubah sejak dibaca; muat ulang dan coba lagi",
    err_validation: "Periksa kembali isian",
    err_too_many: "Terlalu banyak percobaan; coba lagi nanti",
    err_timeout: "Permintaan tidak diterima utuh dalam batas waktu",
    err_internal: "Terjadi kesalahan pada server",
    err_too_large: "Isi permintaan terlalu besar",
    err_unsupported: "Jenis isi tidak didukung",
    field_required: "wajib diisi",
    field_not_utf8: "berkas harus teks UTF-8",
    field_principal_or_acting: "isi salah satu: principal atau acting",
    weekdays: ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"],
    months: [
        "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
        "September", "Oktober", "November", "Desember",
    ],
};

pub const EN: Texts = Texts {
    lang: "en",
    app_name: "paraf",
    skip_to_content: "Skip to content",
    main_nav: "Main navigation",
    nav_home: "Home",
    nav_inbox: "Inbox & approvals",
    nav_agenda: "e-Agenda",
    nav_disposisi: "e-Disposition",
    nav_absensi: "e-Attendance",
    nav_sppd: "e-SPPD (travel)",
    nav_admin: "Admin",
    logout: "Sign out",
    signed_in_as: "Signed in as",
    switch_lang: "Bahasa Indonesia",
    switch_lang_code: "id",
    login_title: "Sign in",
    login_label: "NIP or email",
    login_hint: "18-digit NIP (spaces allowed) or your office email address.",
    password_label: "Password",
    login_button: "Sign in",
    login_failed: "Wrong NIP/email or password.",
    login_throttled: "Too many failed sign-in attempts from this network. Wait two minutes, then try again.",
    logged_out: "You have signed out.",
    error_summary_title: "There is a problem",
    dashboard_title: "Home",
    today: "Today",
    counter_to_approve: "Waiting for your approval",
    counter_to_sign: "Waiting for your signature",
    counter_unread_dispositions: "Unread dispositions",
    counter_agenda_today: "Today's agenda",
    services: "Services",
    desc_agenda: "Activity schedule of leaders and staff, published and evaluated.",
    desc_disposisi: "Incoming letter registration and dispositions down the hierarchy.",
    desc_absensi: "Daily attendance, permission, sick and annual leave, official travel.",
    desc_sppd: "Assignment letters and travel orders with staged approval and e-signatures.",
    desc_inbox: "Requests waiting for your approval, signature or follow-up.",
    coming_soon: "Coming soon",
    coming_soon_body: "This service is being built and cannot be used yet.",
    admin_title: "Administration",
    employees_title: "Employees",
    units_title: "Units",
    signing_title: "Failed signing",
    col_nip: "NIP",
    col_name: "Name",
    col_email: "Email",
    col_jabatan: "Position",
    col_unit: "Unit",
    col_roles: "Roles",
    col_code: "Code",
    col_kind: "Kind",
    col_parent: "Parent unit",
    col_head: "Head",
    col_line: "Line",
    col_status: "Status",
    col_errors: "Details",
    next_page: "Next page",
    no_employees: "No employees yet.",
    no_units: "No units yet.",
    create_employee: "Add employee",
    create_unit: "Add unit",
    initial_password: "Initial password",
    optional: "optional",
    supervisor_label: "Supervisor (NIP or id)",
    roles_hint: "Comma separated: staff, approver, ppk, bendahara, archivist, admin, agendaris.",
    save: "Save",
    import_title: "Import employees from CSV",
    import_file: "CSV file",
    import_hint: "Columns: nip, nama, email, jabatan, unit, pangkat, golongan, atasan, peran (roles separated by ;).",
    import_button: "Import",
    import_result: "Import result",
    status_imported: "imported",
    status_rejected: "rejected",
    employee_created: "Employee added.",
    unit_created: "Unit added.",
    set_head: "Set head",
    head_label: "Head's NIP",
    head_set: "Unit head set.",
    forbidden_title: "Access denied",
    forbidden_body: "You are not allowed to open this page.",
    csrf_body: "The form expired or is not valid. Reload the page and try again.",
    not_found_title: "Not found",
    server_error_title: "Something went wrong",
    err_malformed: "The request could not be read",
    err_unauthenticated: "Please sign in first",
    err_forbidden: "You are not allowed to do this",
    err_not_found: "Not found",
    err_conflict: "Conflicts with existing data",
    err_stale: "The record changed since it was read; reload and try again",
    err_validation: "Please check the input",
    err_too_many: "Too many attempts; try again later",
    err_timeout: "The request did not arrive in full in time",
    err_internal: "Something went wrong on the server",
    err_too_large: "The request body is too large",
    err_unsupported: "Unsupported content type",
    field_required: "is required",
    field_not_utf8: "the file must be UTF-8 text",
    field_principal_or_acting: "give one of: principal or acting",
    weekdays: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    months: [
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saturday_in_november_reads_like_a_letter_head() {
        let d = time::macros::date!(2026 - 11 - 28);
        assert_eq!(Lang::Id.long_date(d), "Sabtu, 28 November 2026");
        assert_eq!(Lang::En.long_date(d), "Saturday, 28 November 2026");
    }

    #[test]
    fn english_wins_only_when_preferred() {
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,id;q=0.8"),
            Lang::En
        );
        assert_eq!(
            Lang::from_accept_language("id-ID,id;q=0.9,en;q=0.8"),
            Lang::Id
        );
        assert_eq!(Lang::from_accept_language("fr"), Lang::Id);
        assert_eq!(Lang::from_accept_language(""), Lang::Id);
    }
}
