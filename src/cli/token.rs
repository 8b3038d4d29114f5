//! `trailscope token create|list|revoke`: straight in the database, also while the server runs.

use super::context::{Threads, runtime};
use super::output::outln;
use super::store::{StoreAt, open_store_beside};
use anyhow::anyhow;
use clap::Subcommand;
use std::path::PathBuf;
use trailscope::store::{NewToken, Role};

/// The server's database: the same `--db` or `--database-url` as `serve`'s.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Database {
    /// The server's SQLite database file.
    #[arg(long)]
    db: Option<PathBuf>,
    /// The server's PostgreSQL database (`postgres://user@host/db`).
    #[arg(long, env = "TRAILSCOPE_DATABASE_URL")]
    database_url: Option<String>,
}

impl Database {
    fn at(self) -> anyhow::Result<StoreAt> {
        StoreAt::choose(self.db, self.database_url, Some(2))
    }
}

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
        #[command(flatten)]
        at: Database,
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
        #[command(flatten)]
        at: Database,
    },
    /// Revoke a token by its id (`tok_…`); it stops working at once.
    Revoke {
        #[command(flatten)]
        at: Database,
        /// The token's id as `token list` shows it (`tok_…`), not its secret.
        id: String,
    },
}

/// `trailscope token create|list|revoke`, through the store's own token admin (it works while a
/// server runs on the same database).
pub fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    let open = |at: Database| async move { open_store_beside(&at.at()?).await };
    runtime(Threads::One)?.block_on(async move {
        match cmd {
            TokenCommand::Create {
                at,
                role,
                tenant,
                name,
            } => {
                let store = open(at).await?;
                let (new, secret) = NewToken::generate(role.into(), &tenant, name.as_deref());
                let record = store.create_token(new).await;
                store.close().await;
                let record = record?;
                outln!(
                    "created {} ({} for tenant {}); it is shown only now:",
                    record.id,
                    record.role,
                    record.tenant
                );
                outln!("{secret}");
            }
            TokenCommand::List { at } => {
                let store = open(at).await?;
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
                outln!("{}", columns(&rows).trim_end_matches('\n'));
            }
            TokenCommand::Revoke { at, id } => {
                let store = open(at).await?;
                let revoked = store.revoke_token(&id).await;
                store.close().await;
                if !revoked? {
                    return Err(anyhow!("no active token has the id {id}"));
                }
                outln!("revoked {id}");
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
