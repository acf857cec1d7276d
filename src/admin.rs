//! `paraf admin …`: the same operations as the admin pages and API, for scripts and for
//! the shell of the machine paraf runs on. Works on the data directory of a stopped or a
//! running `paraf serve` (the store takes one writer at a time), so an organisation that
//! lost its admins' passwords or roles can always be repaired from here.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use paraf_core::{NewEmployee, NewUnit, Role, ServiceError};

use crate::runtime::Runtime;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Units of the organisation.
    #[command(subcommand)]
    Units(UnitsCommand),
    /// Employees.
    #[command(subcommand)]
    Employees(EmployeesCommand),
    /// Roles of employees (e.g. `paraf admin roles grant NIP_OR_EMAIL admin`).
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Acting officials (Plh) while someone is away.
    #[command(subcommand)]
    Delegations(DelegationsCommand),
    /// Check the store's integrity (after a crash, before a backup).
    Check,
}

#[derive(Subcommand)]
pub enum UnitsCommand {
    /// List units as a tree.
    List,
    /// Create a unit.
    Create {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// pimpinan, divisi, sekretariat, bagian or subbagian
        #[arg(long)]
        kind: String,
        /// Parent unit id or code.
        #[arg(long)]
        parent: Option<String>,
    },
    /// Make an employee (id, NIP or email) the head of a unit (id or code).
    SetHead {
        #[arg(long)]
        unit: String,
        #[arg(long)]
        employee: String,
    },
}

#[derive(Subcommand)]
pub enum EmployeesCommand {
    /// List employees (optionally of one unit, by id or code).
    List {
        #[arg(long)]
        unit: Option<String>,
    },
    /// Create an employee.
    Create {
        #[arg(long)]
        nip: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        jabatan: String,
        /// Unit id or code.
        #[arg(long)]
        unit: String,
        #[arg(long)]
        pangkat: Option<String>,
        #[arg(long)]
        golongan: Option<String>,
        /// Supervisor's id, NIP or email (default: the head of the unit).
        #[arg(long)]
        supervisor: Option<String>,
        /// Roles, comma separated: staff, approver, ppk, bendahara, archivist, admin, agendaris.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// Import employees from a CSV file; prints a per-row report. Exit code 2 when rows were rejected.
    Import { file: PathBuf },
    /// Set an employee's password (read from PARAF_PASSWORD).
    SetPassword {
        /// Employee id, NIP or email.
        employee: String,
        #[arg(long, env = "PARAF_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Show the supervisor chain of an employee.
    Supervisors { employee: String },
    /// Deactivate an employee (id, NIP or email): they can no longer sign in. The last
    /// active admin cannot be deactivated.
    Deactivate { employee: String },
    /// Activate a deactivated employee again.
    Activate { employee: String },
}

#[derive(Subcommand)]
pub enum RolesCommand {
    /// Give an employee (id, NIP or email) a role: staff, approver, ppk, bendahara,
    /// archivist, admin, agendaris.
    Grant { employee: String, role: String },
    /// Take a role from an employee; the last active admin keeps `admin`.
    Revoke { employee: String, role: String },
    /// Employees holding a role (default: admin), with whether they are active.
    List { role: Option<String> },
}

#[derive(Subcommand)]
pub enum DelegationsCommand {
    /// Appoint a Plh for an official from one date to another (YYYY-MM-DD, WIB).
    Create {
        #[arg(long)]
        principal: String,
        #[arg(long)]
        acting: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: String,
    },
}

/// Turns a domain error into a message naming the fields, for the terminal.
fn explain(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Invalid(fields) => {
            let list: Vec<String> = fields.iter().map(|(f, m)| format!("  {f}: {m}")).collect();
            anyhow::anyhow!("invalid input:\n{}", list.join("\n"))
        }
        ServiceError::Conflict { field, message } => {
            anyhow::anyhow!("{field}: {} ({})", message.id, message.en)
        }
        ServiceError::Stale => anyhow::anyhow!(
            "the record changed while this command ran (another admin or the server); run it again"
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn set_active(rt: &Runtime, who: &str, active: bool) -> anyhow::Result<()> {
    let e = employee(rt, who).await?;
    let e = rt
        .auth
        .org()
        .set_active(&e.id, active, e.version)
        .await
        .map_err(explain)?;
    let state = if e.active { "active" } else { "deactivated" };
    println!("{} ({}) {state}", e.name, e.email);
    Ok(())
}

fn parse_role(s: &str) -> anyhow::Result<Role> {
    Role::parse(s).with_context(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role `{s}` (one of: {})", all.join(", "))
    })
}

fn role_list(e: &paraf_core::Employee) -> String {
    let roles: Vec<&str> = e.roles.iter().map(|r| r.as_str()).collect();
    roles.join(",")
}

async fn employee(rt: &Runtime, who: &str) -> anyhow::Result<paraf_core::Employee> {
    rt.auth
        .org()
        .find_employee(who)
        .await
        .map_err(explain)?
        .with_context(|| format!("no employee `{who}`"))
}

pub async fn run(rt: &Runtime, cmd: AdminCommand) -> anyhow::Result<()> {
    let org = rt.auth.org();
    match cmd {
        AdminCommand::Check => {
            rt.table
                .integrity_check()
                .context("store integrity check failed")?;
            // Every employee must be reachable by its NIP and email claims: a torn write
            // would show up here.
            let (mut n, mut cursor, mut broken) = (0, None, Vec::new());
            loop {
                let (page, next) = org.employees(None, 500, cursor).await.map_err(explain)?;
                for e in page {
                    n += 1;
                    for login in [e.nip.to_string(), e.email.to_string()] {
                        let found = org.find_employee(&login).await.map_err(explain)?;
                        if found.as_ref().map(|f| &f.id) != Some(&e.id) {
                            broken.push(format!("{} does not resolve to employee {}", login, e.id));
                        }
                    }
                }
                match next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            // The last-admin guard must count what the employees say.
            let admins = org.active_admins().await.map_err(explain)?.len() as i64;
            let counted = org.admin_count().await.map_err(explain)?;
            if counted != admins {
                broken.push(format!(
                    "the admin guard counts {counted} active admins, the employees {admins}"
                ));
            }
            if admins == 0 {
                broken.push(
                    "no active admin: `paraf admin roles grant NIP_OR_EMAIL admin`".to_string(),
                );
            }
            if !broken.is_empty() {
                anyhow::bail!("store inconsistent:\n  {}", broken.join("\n  "));
            }
            println!(
                "store ok: {n} employees ({admins} active admins), every NIP and email claim consistent"
            );
        }
        AdminCommand::Units(UnitsCommand::List) => {
            let units = org.units().await.map_err(explain)?;
            fn print(units: &[paraf_core::Unit], parent: Option<&str>, depth: usize) {
                for u in units.iter().filter(|u| u.parent_id.as_deref() == parent) {
                    println!(
                        "{}{:<12} {} ({})",
                        "  ".repeat(depth),
                        u.code,
                        u.name,
                        u.kind.as_str()
                    );
                    print(units, Some(&u.id), depth + 1);
                }
            }
            print(&units, None, 0);
        }
        AdminCommand::Units(UnitsCommand::Create {
            code,
            name,
            kind,
            parent,
        }) => {
            let parent_id = match parent {
                Some(p) => Some(
                    org.find_unit(&p)
                        .await
                        .map_err(explain)?
                        .with_context(|| format!("no unit `{p}`"))?
                        .id,
                ),
                None => None,
            };
            let u = org
                .create_unit(NewUnit {
                    code,
                    name,
                    kind,
                    parent_id,
                })
                .await
                .map_err(explain)?;
            println!("{}\t{}", u.id, u.code);
        }
        AdminCommand::Units(UnitsCommand::SetHead {
            unit,
            employee: who,
        }) => {
            let u = org
                .find_unit(&unit)
                .await
                .map_err(explain)?
                .with_context(|| format!("no unit `{unit}`"))?;
            let e = employee(rt, &who).await?;
            org.set_unit_head(&u.id, &e.id).await.map_err(explain)?;
            println!("{} heads {}", e.name, u.name);
        }
        AdminCommand::Employees(EmployeesCommand::List { unit }) => {
            let unit_id = match unit {
                Some(u) => Some(
                    org.find_unit(&u)
                        .await
                        .map_err(explain)?
                        .with_context(|| format!("no unit `{u}`"))?
                        .id,
                ),
                None => None,
            };
            let mut cursor = None;
            loop {
                let (page, next) = org
                    .employees(unit_id.as_deref(), 200, cursor)
                    .await
                    .map_err(explain)?;
                for e in page {
                    let roles: Vec<&str> = e.roles.iter().map(|r| r.as_str()).collect();
                    println!("{}\t{}\t{}\t{}", e.nip, e.email, e.name, roles.join(","));
                }
                match next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        AdminCommand::Employees(EmployeesCommand::Create {
            nip,
            name,
            email,
            jabatan,
            unit,
            pangkat,
            golongan,
            supervisor,
            roles,
        }) => {
            let e = org
                .create_employee(NewEmployee {
                    nip,
                    name,
                    email,
                    jabatan,
                    unit,
                    pangkat,
                    golongan,
                    supervisor,
                    roles,
                })
                .await
                .map_err(explain)?;
            println!("{}\t{}\t{}", e.id, e.nip, e.email);
        }
        AdminCommand::Employees(EmployeesCommand::Import { file }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let report = org.import_employees_csv(&text).await.map_err(explain)?;
            for row in &report.rows {
                let status = match row.status {
                    paraf_core::org::ImportStatus::Imported => "imported".to_string(),
                    paraf_core::org::ImportStatus::Rejected => {
                        let why: Vec<String> = row
                            .errors
                            .iter()
                            .map(|(f, m)| format!("{f}: {m}"))
                            .collect();
                        format!("rejected ({})", why.join("; "))
                    }
                };
                println!(
                    "line {}\t{}\t{}",
                    row.line,
                    row.nip.as_deref().unwrap_or("-"),
                    status
                );
            }
            println!(
                "{} imported, {} rejected",
                report.imported(),
                report.rejected()
            );
            if report.rejected() > 0 {
                std::process::exit(2);
            }
        }
        AdminCommand::Employees(EmployeesCommand::SetPassword {
            employee: who,
            password,
        }) => {
            let e = employee(rt, &who).await?;
            rt.auth
                .set_password(&e.id, &password)
                .await
                .map_err(explain)?;
            println!("password set for {}", e.email);
        }
        AdminCommand::Employees(EmployeesCommand::Supervisors { employee: who }) => {
            let e = employee(rt, &who).await?;
            for s in org.supervisor_chain(&e).await.map_err(explain)? {
                println!("{}\t{}\t{}", s.nip, s.name, s.jabatan);
            }
        }
        AdminCommand::Employees(EmployeesCommand::Deactivate { employee: who }) => {
            set_active(rt, &who, false).await?
        }
        AdminCommand::Employees(EmployeesCommand::Activate { employee: who }) => {
            set_active(rt, &who, true).await?
        }
        AdminCommand::Roles(RolesCommand::Grant {
            employee: who,
            role,
        }) => {
            let role = parse_role(&role)?;
            let e = employee(rt, &who).await?;
            let mut roles: Vec<String> = e.roles.iter().map(|r| r.as_str().into()).collect();
            roles.push(role.as_str().into());
            let e = org
                .set_roles(&e.id, &roles, e.version)
                .await
                .map_err(explain)?;
            println!("{} ({}): {}", e.name, e.email, role_list(&e));
            if !e.active {
                println!("note: {} is deactivated; `paraf admin employees activate {}` to let them sign in", e.name, e.email);
            }
        }
        AdminCommand::Roles(RolesCommand::Revoke {
            employee: who,
            role,
        }) => {
            let role = parse_role(&role)?;
            if role == Role::Staff {
                anyhow::bail!("every employee keeps the role staff");
            }
            let e = employee(rt, &who).await?;
            let roles: Vec<String> = e
                .roles
                .iter()
                .filter(|r| **r != role)
                .map(|r| r.as_str().into())
                .collect();
            let e = org
                .set_roles(&e.id, &roles, e.version)
                .await
                .map_err(explain)?;
            println!("{} ({}): {}", e.name, e.email, role_list(&e));
        }
        AdminCommand::Roles(RolesCommand::List { role }) => {
            let role = parse_role(role.as_deref().unwrap_or("admin"))?;
            let mut cursor = None;
            loop {
                let (page, next) = org.employees(None, 200, cursor).await.map_err(explain)?;
                for e in page.iter().filter(|e| e.has_role(role)) {
                    let state = if e.active { "active" } else { "inactive" };
                    println!("{}\t{}\t{}\t{state}", e.nip, e.email, e.name);
                }
                match next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        AdminCommand::Delegations(DelegationsCommand::Create {
            principal,
            acting,
            from,
            to,
            reason,
        }) => {
            let d = org
                .create_delegation(&principal, &acting, &from, &to, &reason)
                .await
                .map_err(explain)?;
            println!("{}\t{} – {}", d.id, d.from, d.to);
        }
    }
    Ok(())
}
