//! Who and what appears in the demo trail: the MSP's staff and its co-managed client's IT team,
//! service accounts, customers, automation rules and integrations.
//!
//! Addresses come from the documentation ranges (RFC 5737, RFC 3849) and the ranges MaxMind
//! publishes for GeoIP test data, so they look real without pointing at anyone.

use crate::model::{Actor, ActorType};

/// An office: where people sit, their clock, and the address their traffic leaves from.
#[derive(Debug)]
pub struct Office {
    pub company: &'static str,
    pub domain: &'static str,
    /// Hours from UTC in November (no daylight saving then in any of these places).
    pub utc_offset_h: i64,
    pub egress_ips: &'static [&'static str],
    /// The prefix home addresses are drawn from (the last octet comes from the person).
    pub home_net: &'static str,
}

pub const LONDON: usize = 0;
pub const TORONTO: usize = 1;
pub const OSLO: usize = 2;
pub const VENDOR: usize = 3;

/// The offices, indexed by the constants above.
pub static OFFICES: [Office; 4] = [
    Office {
        company: "Northwind Managed Services",
        domain: "northwind.example.com",
        utc_offset_h: 0,
        egress_ips: &["203.0.113.10", "203.0.113.11"],
        home_net: "81.2.69.",
    },
    Office {
        company: "Northwind Managed Services",
        domain: "northwind.example.com",
        utc_offset_h: -5,
        egress_ips: &["198.51.100.20"],
        home_net: "216.160.83.",
    },
    Office {
        company: "Halvorsen Logistics",
        domain: "halvorsen.example.net",
        utc_offset_h: 1,
        egress_ips: &["192.0.2.44"],
        home_net: "89.160.20.",
    },
    Office {
        company: "Relaydesk Support",
        domain: "support.example.org",
        utc_offset_h: -8,
        egress_ips: &["67.43.156.14"],
        home_net: "67.43.156.",
    },
];

/// What a person may do in the helpdesk app, which decides what their sessions hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Admin,
    ServiceManager,
    Dispatcher,
    Technician,
    Compliance,
    Billing,
    ClientAdmin,
    ClientIt,
    VendorSupport,
}

/// One named user.
#[derive(Debug)]
pub struct Person {
    pub id: &'static str,
    pub name: &'static str,
    /// The part of the email before `@`.
    pub mailbox: &'static str,
    pub office: usize,
    pub role: Role,
    /// Index into [`BROWSERS`]: people stick to their browser.
    pub browser: usize,
    /// Whether the person has MFA; the few without it are the soft spot.
    pub mfa: bool,
}

const fn p(
    id: &'static str,
    name: &'static str,
    mailbox: &'static str,
    office: usize,
    role: Role,
    browser: usize,
    mfa: bool,
) -> Person {
    Person {
        id,
        name,
        mailbox,
        office,
        role,
        browser,
        mfa,
    }
}

use Role::*;

// One person per line reads like the staff list it is.
#[rustfmt::skip]
/// Everyone with an account. `u_2` (Grace Whitfield) is the account taken over in the incident.
pub static PEOPLE: [Person; 40] = [
    p("u_1", "Oliver Bennett", "oliver.bennett", LONDON, Owner, 2, true),
    p("u_2", "Grace Whitfield", "grace.whitfield", LONDON, Admin, 0, false),
    p("u_3", "Amelia Hughes", "amelia.hughes", LONDON, ServiceManager, 1, true),
    p("u_4", "Harry Patel", "harry.patel", LONDON, Technician, 0, true),
    p("u_5", "Isla Murray", "isla.murray", LONDON, Dispatcher, 3, true),
    p("u_6", "Jack Thompson", "jack.thompson", LONDON, Technician, 4, true),
    p("u_7", "Sophie Lambert", "sophie.lambert", LONDON, Technician, 0, true),
    p("u_8", "Mohammed Rahman", "mohammed.rahman", LONDON, Technician, 5, true),
    p("u_9", "Chloe Davies", "chloe.davies", LONDON, Technician, 1, true),
    p("u_10", "Ethan Price", "ethan.price", LONDON, Technician, 0, true),
    p("u_11", "Zoë Müller", "zoe.muller", LONDON, Technician, 4, true),
    p("u_12", "Siobhán O'Neill", "siobhan.oneill", LONDON, Dispatcher, 2, true),
    p("u_13", "Liam Walsh", "liam.walsh", LONDON, Technician, 0, true),
    p("u_14", "Priya Raman", "priya.raman", LONDON, Compliance, 3, true),
    p("u_15", "George Evans", "george.evans", LONDON, Technician, 1, false),
    p("u_16", "Hannah Cole", "hannah.cole", LONDON, Billing, 2, true),
    p("u_17", "Alice Smith", "alice.smith", LONDON, Admin, 0, true),
    p("u_18", "Łukasz Nowak", "lukasz.nowak", LONDON, Technician, 5, true),
    p("u_19", "Ruby Ahmed", "ruby.ahmed", LONDON, Technician, 0, true),
    p("u_20", "Samuel Osei", "samuel.osei", LONDON, ServiceManager, 1, true),
    p("u_21", "Emily Tremblay", "emily.tremblay", TORONTO, ServiceManager, 2, true),
    p("u_22", "Noah Gagnon", "noah.gagnon", TORONTO, Technician, 0, true),
    p("u_23", "Olivia Roy", "olivia.roy", TORONTO, Dispatcher, 3, true),
    p("u_24", "Lucas Martin", "lucas.martin", TORONTO, Technician, 0, true),
    p("u_25", "Ava Singh", "ava.singh", TORONTO, Technician, 1, true),
    p("u_26", "William Chen", "william.chen", TORONTO, Technician, 2, true),
    p("u_27", "Charlotte Wong", "charlotte.wong", TORONTO, Technician, 4, true),
    p("u_28", "Benjamin Leblanc", "benjamin.leblanc", TORONTO, Technician, 0, false),
    p("u_29", "José Álvarez", "jose.alvarez", TORONTO, Technician, 1, true),
    p("u_30", "Maya Kowalski", "maya.kowalski", TORONTO, Admin, 2, true),
    p("u_31", "Ingrid Halvorsen", "ingrid.halvorsen", OSLO, ClientAdmin, 3, true),
    p("u_32", "Erik Solberg", "erik.solberg", OSLO, ClientIt, 0, true),
    p("u_33", "Kari Nilsen", "kari.nilsen", OSLO, ClientIt, 4, true),
    p("u_34", "Magnus Berg", "magnus.berg", OSLO, ClientIt, 0, true),
    p("u_35", "Sigrid Dahl", "sigrid.dahl", OSLO, ClientIt, 1, true),
    p("u_36", "Søren Jakobsen", "soren.jakobsen", OSLO, ClientIt, 5, true),
    p("u_37", "Marcus Reed", "marcus.reed", VENDOR, VendorSupport, 2, true),
    p("u_38", "Tanya Brooks", "tanya.brooks", VENDOR, VendorSupport, 3, true),
    p("u_39", "Daniel Okafor", "daniel.okafor", LONDON, Technician, 1, true),
    p("u_40", "Fatima Zahra", "fatima.zahra", TORONTO, Technician, 0, true),
];

/// Desktop browsers people use; the last two are the phones they use on call.
pub static BROWSERS: [&str; 8] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.3595.65",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:145.0) Gecko/20100101 Firefox/145.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36",
];

/// Where a phone's traffic comes from (carrier-grade NAT pools look like this from outside).
pub static MOBILE_IPS: [&str; 4] = [
    "2001:db8:85a3:1f0::3c1",
    "2001:db8:c0de:44::1a",
    "175.16.199.41",
    "2.125.160.216",
];

impl Person {
    /// `mailbox@domain`.
    pub fn email(&self) -> String {
        format!("{}@{}", self.mailbox, OFFICES[self.office].domain)
    }

    /// The address the person's home broadband has all month.
    pub fn home_ip(&self) -> String {
        let n: u32 = self.id[2..].parse().unwrap_or(0);
        format!("{}{}", OFFICES[self.office].home_net, 17 + (n * 37) % 200)
    }

    /// The person as an actor, seen from `ip` with `user_agent`.
    pub fn actor(&self, ip: &str, user_agent: &str) -> Actor {
        Actor {
            kind: ActorType::User,
            id: Some(self.id.to_string()),
            name: Some(self.name.to_string()),
            email: Some(self.email()),
            ip: Some(ip.to_string()),
            user_agent: Some(user_agent.to_string()),
        }
    }
}

/// A non-human caller with its own credentials.
#[derive(Debug)]
pub struct Service {
    pub id: &'static str,
    pub name: &'static str,
    pub user_agent: &'static str,
    pub ip: &'static str,
}

impl Service {
    /// The service as an actor.
    pub fn actor(&self) -> Actor {
        Actor {
            kind: ActorType::Service,
            id: Some(self.id.to_string()),
            name: Some(self.name.to_string()),
            email: None,
            ip: Some(self.ip.to_string()),
            user_agent: Some(self.user_agent.to_string()),
        }
    }
}

pub const RULES_ENGINE: Service = Service {
    id: "svc_rules_engine",
    name: "Rules engine",
    user_agent: "relaydesk-rules/2.14.3",
    ip: "10.20.4.11",
};
pub const WRITEBACK: Service = Service {
    id: "svc_writeback",
    name: "PSA write-back worker",
    user_agent: "relaydesk-writeback/2.14.3 reqwest/0.12",
    ip: "10.20.4.23",
};
pub const MATCHER: Service = Service {
    id: "svc_customer_matcher",
    name: "Customer matcher",
    user_agent: "relaydesk-matcher/2.14.3",
    ip: "10.20.4.31",
};
pub const SCIM: Service = Service {
    id: "svc_scim_entra",
    name: "Entra ID provisioning (SCIM)",
    user_agent: "Microsoft.AzureAD.SCIM/1.0",
    ip: "198.51.100.140",
};
pub const REPORTING_SCRIPT: Service = Service {
    id: "svc_api_halvorsen",
    name: "Halvorsen reporting script",
    user_agent: "python-requests/2.32.3",
    ip: "192.0.2.44",
};

/// One of the MSP's customers: the companies whose devices raise alerts.
#[derive(Debug)]
pub struct Customer {
    pub id: String,
    pub name: &'static str,
    /// Device names start with it (`RVC-FS01`).
    pub prefix: &'static str,
}

const CUSTOMER_NAMES: [(&str, &str); 36] = [
    ("Halvorsen Logistics", "HAL"),
    ("Riverside Veterinary Clinic", "RVC"),
    ("Acme Dental Group", "ADG"),
    ("Baker & Finch Solicitors", "BFS"),
    ("Greenway Architects", "GWA"),
    ("St Anne's Primary School", "SAP"),
    ("Cobalt Freight", "CBF"),
    ("Marlow Accountancy", "MAR"),
    ("Oakfield Care Home", "OCH"),
    ("Pemberton Estates", "PEM"),
    ("Kestrel Engineering", "KES"),
    ("Thornbury Dental", "THD"),
    ("Northgate Pharmacy", "NGP"),
    ("Bluebell Nurseries", "BBN"),
    ("Harbourside Hotel", "HBH"),
    ("Crane & Co Logistics", "CCL"),
    ("Fenwick Insurance Brokers", "FIB"),
    ("Larkspur Medical Centre", "LMC"),
    ("Redwood Property Management", "RPM"),
    ("Summit Physiotherapy", "SPT"),
    ("Tidewater Marine Supplies", "TMS"),
    ("Union Street Bakery", "USB"),
    ("Vantage Recruitment", "VRC"),
    ("Willowbrook Veterinary", "WBV"),
    ("Ashford & Grey LLP", "AGL"),
    ("Brightwater Charity Trust", "BCT"),
    ("Castlegate Motors", "CGM"),
    ("Dovetail Joinery", "DTJ"),
    ("Elmstead Golf Club", "EGC"),
    ("Foxglove Florists", "FXF"),
    ("Maple Leaf Dental (Toronto)", "MLD"),
    ("Lakeshore Chiropractic", "LSC"),
    ("Queen West Realty", "QWR"),
    ("Beaches Family Law", "BFL"),
    ("Don Valley Auto Body", "DVA"),
    ("Humber Bay Condominiums", "HBC"),
];

/// The customers, with ids that look like a database grew them.
pub fn customers() -> Vec<Customer> {
    CUSTOMER_NAMES
        .iter()
        .enumerate()
        .map(|(i, (name, prefix))| Customer {
            id: format!("c_{}", 7 + i * 5 + i % 3),
            name,
            prefix,
        })
        .collect()
}

/// An integration the tenant has connected, with the credential fields its settings page shows.
#[derive(Debug)]
pub struct Integration {
    pub id: &'static str,
    pub name: &'static str,
    /// Fields shown in clear (`base_url`, `company_id`) and their values.
    pub settings: &'static [(&'static str, &'static str)],
    /// Secret fields: recorded only as a mask with the last four characters.
    pub secrets: &'static [&'static str],
}

pub static INTEGRATIONS: [Integration; 6] = [
    Integration {
        id: "connectwise",
        name: "ConnectWise PSA",
        settings: &[
            ("site", "api-eu.myconnectwise.net"),
            ("company_id", "northwind"),
            ("api_version", "2025.1"),
        ],
        secrets: &["public_key", "private_key", "client_id"],
    },
    Integration {
        id: "ninjaone",
        name: "NinjaOne RMM",
        settings: &[
            ("region", "eu"),
            (
                "webhook_url",
                "https://hooks.relaydesk.example/n1/northwind",
            ),
        ],
        secrets: &["client_id", "client_secret"],
    },
    Integration {
        id: "datto_rmm",
        name: "Datto RMM",
        settings: &[
            ("platform", "merlot"),
            ("api_url", "https://merlot-api.centrastage.net"),
        ],
        secrets: &["api_key", "api_secret"],
    },
    Integration {
        id: "m365",
        name: "Microsoft 365",
        settings: &[("tenant_id", "9f1c2a7e-3b4d-4c5e-8f6a-7b8c9d0e1f2a")],
        secrets: &["client_id", "client_secret"],
    },
    Integration {
        id: "slack",
        name: "Slack",
        settings: &[("workspace", "northwind-msp"), ("channel", "#alerts-p1")],
        secrets: &["bot_token", "signing_secret"],
    },
    Integration {
        id: "pagerduty",
        name: "PagerDuty",
        settings: &[
            ("service", "Northwind on-call"),
            ("escalation_policy", "PXQ4T2M"),
        ],
        secrets: &["routing_key"],
    },
];

/// A kind of alert the RMM raises, and how the automation rule for it answers.
#[derive(Debug)]
pub struct AlertKind {
    pub rule_id: &'static str,
    pub rule_name: &'static str,
    pub condition: &'static str,
    pub summary: &'static str,
    pub severity: &'static str,
    /// What the rule does: `create_ticket`, `acknowledge_alert` or `notify`.
    pub action: &'static str,
    pub priority: &'static str,
    /// Relative frequency among alerts.
    pub weight: f64,
}

// One row of the table below, read positionally like a spreadsheet row.
#[allow(clippy::too_many_arguments)]
const fn ak(
    rule_id: &'static str,
    rule_name: &'static str,
    condition: &'static str,
    summary: &'static str,
    severity: &'static str,
    action: &'static str,
    priority: &'static str,
    weight: f64,
) -> AlertKind {
    AlertKind {
        rule_id,
        rule_name,
        condition,
        summary,
        severity,
        action,
        priority,
        weight,
    }
}

/// The alerts the RMM raises, each with the rule that answers it.
// One alert per line reads like the rules page it mirrors.
#[rustfmt::skip]
pub static ALERTS: [AlertKind; 14] = [
    ak("r_3", "Disk space critical → P2 ticket", "disk.free_pct < 10", "Low disk space on C:", "critical", "create_ticket", "P2 - High", 9.0),
    ak("r_4", "Disk space warning → acknowledge", "disk.free_pct < 20", "Disk space below 20%", "warning", "acknowledge_alert", "", 12.0),
    ak("r_7", "Agent offline > 15 min → ticket", "agent.offline_minutes > 15", "Device offline for more than 15 minutes", "major", "create_ticket", "P3 - Normal", 14.0),
    ak("r_8", "Backup job failed → P2 ticket", "backup.status == 'failed'", "Backup job failed", "critical", "create_ticket", "P2 - High", 6.0),
    ak("r_9", "Backup warning → acknowledge", "backup.status == 'warning'", "Backup completed with warnings", "minor", "acknowledge_alert", "", 7.0),
    ak("r_12", "CPU > 95% for 10 min → ticket", "cpu.pct > 95 for 10m", "Sustained high CPU usage", "major", "create_ticket", "P3 - Normal", 8.0),
    ak("r_13", "Memory pressure → acknowledge", "memory.available_mb < 512", "Low available memory", "minor", "acknowledge_alert", "", 8.0),
    ak("r_15", "Antivirus threat → P1 ticket + page", "av.threat_detected", "Antivirus detected a threat", "critical", "create_ticket", "P1 - Critical", 1.5),
    ak("r_16", "Patch install failed → ticket", "patch.status == 'failed'", "Windows update failed to install", "minor", "create_ticket", "P4 - Low", 7.0),
    ak("r_18", "Service stopped → restart + ticket", "service.state == 'stopped'", "Windows service stopped", "major", "create_ticket", "P3 - Normal", 6.0),
    ak("r_19", "Certificate expiring → ticket", "cert.days_left < 14", "TLS certificate expires within 14 days", "warning", "create_ticket", "P4 - Low", 1.0),
    ak("r_21", "UPS on battery → page on-call", "ups.on_battery", "UPS running on battery", "critical", "notify", "", 1.0),
    ak("r_22", "Printer offline → acknowledge", "printer.status == 'offline'", "Printer offline", "info", "acknowledge_alert", "", 9.0),
    ak("r_24", "Failed logons spike → P2 ticket", "security.failed_logons > 50 in 5m", "Spike in failed Windows logons", "major", "create_ticket", "P2 - High", 1.5),
];

/// Machine roles that make up device names.
pub static DEVICE_KINDS: [&str; 8] = ["WS", "WS", "WS", "LT", "LT", "FS", "DC", "SQL"];

/// Words technicians use in time-entry notes.
pub static WORK_NOTES: [&str; 10] = [
    "Cleared temp files and WinSxS cleanup, 14 GB freed",
    "Restarted the agent service; device back online",
    "Re-ran the backup job manually, completed OK",
    "Called the site contact, machine had been unplugged",
    "Rolled back KB5044284 and re-queued the update",
    "Replaced toner, printer back in service",
    "Extended the volume by 50 GB after approval",
    "Renewed the certificate and updated the IIS binding",
    "Scanned with Defender offline, threat removed, user briefed",
    "Checked event logs, no recurrence, closing",
];
