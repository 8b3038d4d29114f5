//! AWS CloudTrail records, from a log file (`{"Records":[…]}`) or one record a line. Mapping
//! table: docs/formats.md.

use super::{action_word, object, short, text, time};
use crate::model::{Actor, ActorType, Kind, NewEvent, Outcome, Target};
use serde_json::{Map, Value};

/// What an API call does, from its name's verb (`CreateUser`, `DescribeInstances`).
fn kind(event_name: &str, read_only: Option<bool>) -> Kind {
    if read_only == Some(true) {
        return Kind::Read;
    }
    const VERBS: [(&str, Kind); 22] = [
        ("Create", Kind::Created),
        ("Add", Kind::Created),
        ("Run", Kind::Created),
        ("Register", Kind::Created),
        ("Import", Kind::Created),
        ("Allocate", Kind::Created),
        ("Update", Kind::Updated),
        ("Put", Kind::Updated),
        ("Modify", Kind::Updated),
        ("Set", Kind::Updated),
        ("Attach", Kind::Updated),
        ("Enable", Kind::Updated),
        ("Disable", Kind::Updated),
        ("Change", Kind::Updated),
        ("Delete", Kind::Deleted),
        ("Remove", Kind::Deleted),
        ("Detach", Kind::Deleted),
        ("Terminate", Kind::Deleted),
        ("Get", Kind::Read),
        ("List", Kind::Read),
        ("Describe", Kind::Read),
        ("Lookup", Kind::Read),
    ];
    VERBS
        .iter()
        .find(|(v, _)| {
            event_name.starts_with(v)
                && event_name[v.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_ascii_uppercase())
        })
        .map_or(Kind::Other, |(_, k)| *k)
}

/// Request parameters that name what a call acted on, with the CloudFormation type they name.
const PARAMETERS: [(&str, &str); 10] = [
    ("bucketName", "AWS::S3::Bucket"),
    ("userName", "AWS::IAM::User"),
    ("roleName", "AWS::IAM::Role"),
    ("groupName", "AWS::IAM::Group"),
    ("policyArn", "AWS::IAM::Policy"),
    ("functionName", "AWS::Lambda::Function"),
    ("instanceId", "AWS::EC2::Instance"),
    ("keyId", "AWS::KMS::Key"),
    ("tableName", "AWS::DynamoDB::Table"),
    ("secretId", "AWS::SecretsManager::Secret"),
];

/// One CloudTrail record as an event.
pub fn map(m: &Map<String, Value>) -> Result<NewEvent, super::Unfit> {
    use super::Unfit;
    let occurred_at = time(m, "eventTime")?;
    let source = text(m, "eventSource").ok_or_else(|| Unfit::Missing("eventSource".into()))?;
    let name = text(m, "eventName").ok_or_else(|| Unfit::Missing("eventName".into()))?;
    let service = source.strip_suffix(".amazonaws.com").unwrap_or(source);
    let login = name == "ConsoleLogin";

    let actor = object(m, "userIdentity").map(|u| actor(m, u));
    let target = target(m);

    let error = text(m, "errorCode");
    let login_failed = object(m, "responseElements")
        .and_then(|r| text(r, "ConsoleLogin"))
        .is_some_and(|r| r == "Failure");
    let who = actor
        .as_ref()
        .and_then(|a| a.name.clone().or(a.id.clone()))
        .unwrap_or_else(|| "someone".into());
    let mut description = format!("{who} {service}:{name}");
    if let Some(t) = &target {
        description.push_str(&format!(" on {}", t.id));
    }
    if let Some(region) = text(m, "awsRegion") {
        description.push_str(&format!(" in {region}"));
    }
    if let Some(code) = error {
        description.push_str(&format!(": {code}"));
        if let Some(msg) = text(m, "errorMessage") {
            description.push_str(&format!(" ({msg})"));
        }
    } else if login_failed {
        description.push_str(": Failure");
        if let Some(msg) = text(m, "errorMessage") {
            description.push_str(&format!(" ({msg})"));
        }
    }
    let key = text(m, "eventID").map(|id| format!("cloudtrail:{id}"));
    if key.as_ref().is_some_and(|k| k.chars().count() > 128) {
        return Err(Unfit::TooLong {
            field: "eventID",
            max: 117,
        });
    }
    Ok(NewEvent {
        occurred_at: Some(occurred_at),
        action: action_word(&format!("{service}:{name}")),
        kind: Some(kind(name, m.get("readOnly").and_then(Value::as_bool))),
        channel: Some(if login { "auth" } else { "aws" }.into()),
        outcome: Some(if error.is_some() || login_failed {
            Outcome::Failure
        } else {
            Outcome::Success
        }),
        description: Some(description.chars().take(8192).collect()),
        actor,
        target,
        details: None,
        idempotency_key: key,
    })
}

/// Who acted, from the record's `userIdentity` `u`: an AWS service or a user (or a role's
/// session, named by its issuer).
fn actor(m: &Map<String, Value>, u: &Map<String, Value>) -> Actor {
    let issuer = object(u, "sessionContext").and_then(|s| object(s, "sessionIssuer"));
    let kind = match text(u, "type") {
        Some("AWSService") => ActorType::Service,
        _ => ActorType::User,
    };
    Actor {
        kind,
        id: text(u, "arn")
            .or(text(u, "principalId"))
            .or(text(u, "invokedBy"))
            .or(text(u, "accountId"))
            .map(short),
        name: text(u, "userName")
            .or(issuer.and_then(|i| text(i, "userName")))
            .or(text(u, "invokedBy"))
            .map(short),
        email: None,
        ip: text(m, "sourceIPAddress").map(short),
        user_agent: text(m, "userAgent").map(|s| s.chars().take(1024).collect()),
    }
}

/// What was acted on: the record's first resource, else the first request parameter that
/// names one ([`PARAMETERS`]).
fn target(m: &Map<String, Value>) -> Option<Target> {
    m.get("resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_object)
        .and_then(|r| {
            let id = text(r, "ARN").or(text(r, "accountId"))?;
            Some(Target {
                kind: short(text(r, "type").unwrap_or("AWS")),
                id: short(id),
                name: None,
            })
        })
        .or_else(|| {
            let params = object(m, "requestParameters")?;
            PARAMETERS.iter().find_map(|(key, ty)| {
                text(params, key).map(|id| Target {
                    kind: (*ty).to_string(),
                    id: short(id),
                    name: None,
                })
            })
        })
}
