//! `trailscope token create|list|revoke`: straight in the database, also while the server runs.

use super::context::{Threads, runtime};
use anyhow::anyhow;
use clap::Subcommand;
use std::path::PathBuf;
use std::sync::Arc;
use trailscope::store::{NewToken, Role, SqliteStore, Store};

/// `--role`: what a token may do, as the command line names it (API.md "Roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Producers: `POST /v1/events` only.
    Writer,
    /// Read routes, export, evidence packs, verify.
    Auditor,
    /// Everything, plus retention, prune, pseudonymise, tokens.
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Writer => Role::Writer,
            RoleArg::Auditor => Role::Auditor,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// `trailscope token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; the secret is printed once, as the last line of stdout.
    Create {
        /// The server's SQLite database file (the same as `serve --db`).
        #[arg(long)]
        db: PathBuf,
        /// What the token may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The tenant whose entries the token can reach (and no other).
        #[arg(long, default_value = "default")]
        tenant: String,
        /// A label to recognise the token by in `token list`.
        #[arg(long)]
        name: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        /// The server's SQLite database file.
        #[arg(long)]
        db: PathBuf,
    },
    /// Revoke a token by its id (`tok_…`); it stops working at once.
    Revoke {
        /// The server's SQLite database file.
        #[arg(long)]
        db: PathBuf,
        /// The token's id as `token list` shows it (`tok_…`), not its secret.
        id: String,
    },
}

/// `trailscope token create|list|revoke`, through the store's own token admin (it works while a
/// server runs on the same database).
pub fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    let open = |db: &std::path::Path| -> anyhow::Result<Arc<dyn Store>> {
        Ok(Arc::new(SqliteStore::open(db)?))
    };
    runtime(Threads::One)?.block_on(async move {
        match cmd {
            TokenCommand::Create {
                db,
                role,
                tenant,
                name,
            } => {
                let store = open(&db)?;
                let (new, secret) = NewToken::generate(role.into(), &tenant, name.as_deref());
                let record = store.create_token(new).await;
                store.close().await;
                let record = record?;
                println!(
                    "created {} ({} for tenant {}); it is shown only now:",
                    record.id, record.role, record.tenant
                );
                println!("{secret}");
            }
            TokenCommand::List { db } => {
                let store = open(&db)?;
                let tokens = store.list_tokens().await;
                store.close().await;
                let mut rows =
                    vec![["id", "role", "tenant", "created", "status", "name"].map(String::from)];
                for t in tokens? {
                    let status = if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    rows.push([
                        t.id.clone(),
                        t.role.as_str().to_string(),
                        trailscope::text::inert(&t.tenant).to_string(),
                        trailscope::model::format_ts(&t.created_at),
                        status.to_string(),
                        trailscope::text::inert(t.name.as_deref().unwrap_or("")).to_string(),
                    ]);
                }
                print!("{}", columns(&rows));
            }
            TokenCommand::Revoke { db, id } => {
                let store = open(&db)?;
                let revoked = store.revoke_token(&id).await;
                store.close().await;
                if !revoked? {
                    return Err(anyhow!("no active token has the id {id}"));
                }
                println!("revoked {id}");
            }
        }
        Ok(())
    })
}

/// Rows as left-aligned columns as wide as their widest cell (by display width, so a tenant
/// or name in any script keeps the columns straight), two spaces apart; the last is not padded.
fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < N {
                out.push_str(&" ".repeat(widths[i] - cell.width() + 2));
            }
        }
        out.push('\n');
    }
    out
}
