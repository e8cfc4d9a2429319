//! Owners in words: how every reporter says which app-registration credential a client secret
//! is (`--app-inventory`), and what to delete. One wording for every format.

use crate::finding::{Finding, Owner};

/// What the report says of a secret no inventory credential matches.
pub const NOT_IN_INVENTORY: &str = "not in the app inventory (a secret of another tenant, or a \
     credential since deleted: the two cannot be told apart)";

/// The start of an id (a GUID's first block) for a one-line summary; the full id is in the
/// delete command and in JSON/SARIF.
fn short(id: &str) -> String {
    match id.get(..8) {
        Some(head) if id.len() > 9 => format!("{head}…"),
        _ => id.to_string(),
    }
}

/// One credential in words: `app "contoso-api" (3f1c2a4b…), secret "CI deploy" (keyId
/// 9a2e5d01…), expires 2027-03-01`.
pub fn describe(o: &Owner) -> String {
    let app = if o.app_id.is_empty() && o.app_name.is_empty() {
        "an app not named in the export".to_string()
    } else if o.app_id.is_empty() {
        format!("app \"{}\"", o.app_name)
    } else {
        format!("app \"{}\" ({})", o.app_name, short(&o.app_id))
    };
    let end = match &o.end {
        Some(end) if o.expired => format!("expired {}", crate::inventory::date_of(end)),
        Some(end) => format!("expires {}", crate::inventory::date_of(end)),
        None => "no end date".to_string(),
    };
    let matched = if o.app_id_match { ", the client id near the secret" } else { "" };
    format!("{app}{matched}, secret \"{}\" (keyId {}), {end}", o.credential_name, short(&o.key_id))
}

/// The owners of a finding in one sentence, or `None` when no inventory was given (or the
/// finding is not a client secret).
pub fn sentence(f: &Finding) -> Option<String> {
    let owners = f.owners.as_ref()?;
    Some(match owners.as_slice() {
        [] => NOT_IN_INVENTORY.to_string(),
        [one] => describe(one),
        many => format!(
            "one of {} credentials with this hint: {}",
            many.len(),
            many.iter().map(describe).collect::<Vec<_>>().join("; ")
        ),
    })
}

/// The exact credential to delete, when the inventory tells which: a single candidate, or the
/// only one of the app whose client id is near the secret.
pub fn to_delete(f: &Finding) -> Option<&Owner> {
    let owners = f.owners.as_ref()?;
    let matched: Vec<&Owner> = owners.iter().filter(|o| o.app_id_match).collect();
    let pick = match (owners.as_slice(), matched.as_slice()) {
        ([one], _) => Some(one),
        (_, [one]) => Some(*one),
        _ => None,
    };
    pick.filter(|o| !o.app_id.is_empty() && !o.key_id.is_empty())
}

/// What to do, naming the credential: the Azure CLI command that deletes it (after its
/// replacement is in place), or how to tell candidates apart.
pub fn action(f: &Finding) -> Option<String> {
    if let Some(o) = to_delete(f) {
        return Some(format!(
            "after rotating, delete it: az ad app credential delete --id {} --key-id {}",
            o.app_id, o.key_id
        ));
    }
    match f.owners.as_deref() {
        Some(many) if many.len() > 1 => Some(
            "several credentials share this hint: find the app that uses this secret (the \
             client id in the same file, or where it is deployed) before deleting one"
                .to_string(),
        ),
        _ => None,
    }
}
