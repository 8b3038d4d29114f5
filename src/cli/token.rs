//! `trailscope token create|list|revoke`: straight in the database, also while the server runs.

use anyhow::anyhow;
use clap::Subcommand;
use std::path::PathBuf;
use trailscope::store::Role;
use trailscope::store::sqlite::TokenAdmin;

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
        role: Role,
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

/// `trailscope token create|list|revoke`.
pub fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create {
            db,
            role,
            tenant,
            name,
        } => {
            let admin = TokenAdmin::open(&db)?;
            let (record, secret) = admin.create(role, &tenant, name.as_deref())?;
            println!(
                "created {} ({} for tenant {}); it is shown only now:",
                record.id, record.role, record.tenant
            );
            println!("{secret}");
        }
        TokenCommand::List { db } => {
            let admin = TokenAdmin::open(&db)?;
            let mut rows =
                vec![["id", "role", "tenant", "created", "status", "name"].map(String::from)];
            for t in admin.list()? {
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
            let admin = TokenAdmin::open(&db)?;
            if !admin.revoke(&id)? {
                return Err(anyhow!("no active token has the id {id}"));
            }
            println!("revoked {id}");
        }
    }
    Ok(())
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
