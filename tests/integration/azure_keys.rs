//! Issue 9: every Azure key kind, generated checksum-valid with the library's own generator, in
//! realistic files on disk, is found by the binary at confidence high with the right rule; the
//! same keys with one character changed are not reported at the default confidence; no output
//! format prints a raw key; binaries hold proven keys only; SAS tokens report their expiry.

use crate::util::{TempTree, azleak, json, run};
use azleak::detect::checksum::{
    generate_ado_pat, generate_common_annotated, generate_identifiable,
};

/// A deterministic byte source (xorshift), so failures reproduce.
struct Bytes(u64);

impl Bytes {
    fn take(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 >> 24) as u8
            })
            .collect()
    }
    fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        self.take(n).into_iter().map(|b| A[b as usize % 62] as char).collect()
    }
}

/// (rule id, seed, signature, bytes, url-safe, file name, file template with `{}` for the key)
const IDENTIFIABLE: &[(&str, &str, &str, usize, bool, &str, &str)] = &[
    (
        "azure.storage.account-key",
        "Default0",
        "+ASt",
        64,
        false,
        "app/appsettings.json",
        "{\n  \"ConnectionStrings\": {\n    \"Blob\": \"DefaultEndpointsProtocol=https;AccountName=contosodata;AccountKey={};EndpointSuffix=core.windows.net\"\n  }\n}\n",
    ),
    (
        "azure.cosmos.key",
        "MastRW00",
        "ACDb",
        64,
        false,
        ".env",
        "COSMOS_ENDPOINT=https://orders.documents.azure.com:443/\nCOSMOS_KEY={}\n",
    ),
    (
        "azure.cosmos.key",
        "MastRO00",
        "ACDb",
        64,
        false,
        "infra/terraform.tfstate",
        "{\n  \"resources\": [{\n    \"type\": \"azurerm_cosmosdb_account\",\n    \"instances\": [{\"attributes\": {\n      \"primary_readonly_key\": \"{}\"\n    }}]\n  }]\n}\n",
    ),
    (
        "azure.batch.key",
        "AbAcct00",
        "+ABa",
        64,
        false,
        "deploy/batch.yaml",
        "batch:\n  account: contosobatch\n  key: \"{}\"\n",
    ),
    ("azure.ml.key", "Classic0", "+AMC", 64, false, "score.py", "API_KEY = '{}'\n"),
    (
        "azure.apim.key",
        "IoTHub00",
        "APIM",
        64,
        false,
        "logs/gateway.log",
        "2024-05-01T10:00:00Z INFO request Ocp-Apim-Subscription-Key: {} path=/orders\n",
    ),
    (
        "azure.apim.key",
        "Gatewy00",
        "APIM",
        64,
        false,
        "gateway.env",
        "config.service.auth=GatewayKey {}\n",
    ),
    (
        "azure.service-bus.key",
        "Send0000",
        "+ASb",
        32,
        false,
        "local.settings.json",
        "{\"Values\": {\"ServiceBus\": \"Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={}\"}}\n",
    ),
    (
        "azure.service-bus.key",
        "Manage00",
        "+ASb",
        32,
        false,
        "terraform.tfvars",
        "servicebus_key = \"{}\"\n",
    ),
    (
        "azure.event-hubs.key",
        "Listen00",
        "+AEh",
        32,
        false,
        "k8s/values.yaml",
        "eventHubs:\n  connectionString: Endpoint=sb://ingest.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey={};EntityPath=telemetry\n",
    ),
    (
        "azure.relay.key",
        "Manage00",
        "+ARm",
        32,
        false,
        "relay.config",
        "<add key=\"Relay\" value=\"Endpoint=sb://hybrid.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={}\" />\n",
    ),
    (
        "azure.iot.key",
        "IoTHub00",
        "AIoT",
        32,
        false,
        "iot/.env",
        "IOTHUB_CONNECTION_STRING=\"HostName=hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={}\"\n",
    ),
    (
        "azure.iot.key",
        "Device00",
        "AIoT",
        32,
        false,
        "device.json",
        "{\"deviceId\": \"sensor-7\", \"primaryKey\": \"{}\"}\n",
    ),
    ("azure.iot.key", "DpsKey00", "AIoT", 32, false, "dps.yml", "dps:\n  enrollment_key: {}\n"),
    (
        "azure.redis.key",
        "Access00",
        "AzCa",
        32,
        false,
        "redis.txt",
        "contoso.redis.cache.windows.net:6380,password={},ssl=True,abortConnect=False\n",
    ),
    (
        "azure.event-grid.key",
        "SendRecv",
        "AZEG",
        32,
        false,
        "publish.sh",
        "curl -X POST -H \"aeg-sas-key: {}\" https://topic.westus2-1.eventgrid.azure.net/api/events\n",
    ),
    (
        "azure.functions.key",
        "Functi00",
        "AzFu",
        40,
        true,
        "client.js",
        "const url = 'https://orders-fn.azurewebsites.net/api/orders?code={}';\n",
    ),
    ("azure.functions.key", "Master00", "AzFu", 40, true, "host.json.log", "x-functions-key: {}\n"),
    (
        "azure.search.query-key",
        "Query000",
        "AzSe",
        39,
        false,
        "search.env",
        "AZURE_SEARCH_QUERY_KEY={}\n",
    ),
    (
        "azure.search.admin-key",
        "PAdmin00",
        "AzSe",
        39,
        false,
        "search-admin.json",
        "{\"apiKey\": \"{}\"}\n",
    ),
    (
        "azure.container-registry.key",
        "ACRDflt0",
        "+ACR",
        39,
        false,
        "ci/login.sh",
        "docker login contoso.azurecr.io --username contoso --password {}\n",
    ),
];

/// (rule id, provider signature, file name, template)
const ANNOTATED: &[(&str, &str, &str, &str)] = &[
    ("azure.devops.pat", "AZDO", "pipelines/.env", "AZURE_DEVOPS_EXT_PAT={}\n"),
    ("azure.openai.key", "ACOG", "openai.py", "client = AzureOpenAI(api_key=\"{}\")\n"),
    (
        "azure.app-configuration.key",
        "AZAC",
        "appconfig.json",
        "{\"AppConfig\": \"Endpoint=https://contoso.azconfig.io;Id=Ab1c-l0-s0:Xy9z;Secret={}\"}\n",
    ),
    ("azure.maps.key", "AZMP", "maps.html", "<script>const key = \"{}\";</script>\n"),
    (
        "azure.communication.key",
        "AZCS",
        "acs.yaml",
        "acs:\n  connection: endpoint=https://acs.communication.azure.com/;accesskey={}\n",
    ),
    ("azure.fluid-relay.key", "AZFR", "fluid.env", "FLUID_KEY={}\n"),
];

/// One generated key in its file, and the rule that must find it.
struct Case {
    rule: &'static str,
    file: String,
    template: &'static str,
    key: String,
}

fn cases() -> Vec<Case> {
    let mut r = Bytes(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for (i, &(rule, seed, sig, n, url, file, template)) in IDENTIFIABLE.iter().enumerate() {
        // Search keys are letters and digits only; Redis keys here avoid the P/F variant.
        let key = loop {
            let key = generate_identifiable(&r.take(n), seed, sig, url);
            let plain =
                !rule.starts_with("azure.search") || key.bytes().all(|b| b.is_ascii_alphanumeric());
            if plain {
                break key;
            }
        };
        out.push(Case { rule, file: format!("{i:02}/{file}"), template, key });
    }
    for (i, &(rule, sig, file, template)) in ANNOTATED.iter().enumerate() {
        let prefix = format!("{}JQQJ99BF{}AAAA{sig}", r.alnum(52), r.alnum(12));
        let key = generate_common_annotated(&prefix, i % 2 == 1);
        out.push(Case { rule, file: format!("a{i}/{file}"), template, key });
    }
    let mut random = [0u8; 28];
    random.copy_from_slice(&r.take(28));
    out.push(Case {
        rule: "azure.devops.pat.legacy",
        file: "legacy/Program.cs".into(),
        template: "var personalAccessToken = \"{}\"; // DevOps\n",
        key: generate_ado_pat(&random, 0xE0B9_692D),
    });
    out
}

/// The key with one character of its random part changed (within the key's alphabet).
fn changed(key: &str) -> String {
    let mut bytes = key.as_bytes().to_vec();
    bytes[10] = if bytes[10] == b'b' { b'c' } else { b'b' };
    String::from_utf8(bytes).expect("ASCII")
}

fn write_all(t: &TempTree, cases: &[Case], edit: fn(&str) -> String) {
    for c in cases {
        t.file(&c.file, c.template.replace("{}", &edit(&c.key)));
    }
}

#[test]
fn every_key_kind_is_found_at_high_confidence_with_its_rule() {
    let cases = cases();
    let t = TempTree::new();
    write_all(&t, &cases, str::to_string);
    let (code, out, err) =
        run(azleak(t.path()).args(["scan", ".", "-f", "json", "--show-secrets"]));
    assert_eq!(code, 1, "{err}");
    let doc = json(&out);
    let findings = doc["findings"].as_array().expect("findings");
    for c in &cases {
        let hits: Vec<_> = findings.iter().filter(|f| f["path"] == c.file.as_str()).collect();
        assert_eq!(hits.len(), 1, "{}: {hits:?}", c.file);
        let f = hits[0];
        assert_eq!(f["rule_id"], c.rule, "{}", c.file);
        assert_eq!(f["confidence"], "high", "{}", c.file);
        assert_eq!(f["checksum"], "valid", "{}", c.file);
        assert_eq!(f["secret"], c.key.as_str(), "{}", c.file);
    }
    assert_eq!(findings.len(), cases.len(), "no extra findings: {findings:#?}");
}

#[test]
fn keys_with_one_character_changed_are_not_reported_by_default() {
    let cases = cases();
    let t = TempTree::new();
    write_all(&t, &cases, changed);
    let (code, out, err) = run(azleak(t.path()).args(["scan", ".", "-f", "json"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(json(&out)["findings"].as_array().map(Vec::len), Some(0), "{out}");
    // They are still there at low confidence, as made-up copies of the shape.
    let (_, out, _) =
        run(azleak(t.path()).args(["scan", ".", "-f", "json", "--min-confidence", "low"]));
    let doc = json(&out);
    for c in &cases {
        // (A broken Search key has the shape of both Search rules: each reports it at low.)
        let f = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == c.file.as_str() && f["rule_id"] == c.rule);
        let f = f.unwrap_or_else(|| panic!("{} not found at low", c.file));
        assert_eq!((f["rule_id"].as_str(), f["confidence"].as_str()), (Some(c.rule), Some("low")));
        assert_eq!(f["checksum"], "invalid");
    }
}

#[test]
fn no_output_format_prints_a_raw_key() {
    let cases = cases();
    let t = TempTree::new();
    write_all(&t, &cases, str::to_string);
    for format in ["text", "json", "sarif", "github"] {
        let (code, out, err) = run(azleak(t.path()).args(["scan", ".", "-f", format]));
        assert_eq!(code, 1, "{format}: {err}");
        for c in &cases {
            assert!(!out.contains(&c.key) && !err.contains(&c.key), "{format} printed {}", c.rule);
            assert!(!out.contains(&c.key[..20]), "{format} printed a prefix of {}", c.rule);
        }
    }
}

#[test]
fn each_reporter_uses_the_rules_own_remediation() {
    let cases = cases();
    let t = TempTree::new();
    let storage = &cases[0];
    t.file("a.json", storage.template.replace("{}", &storage.key));
    let (_, text, _) = run(azleak(t.path()).args(["scan", "."]));
    assert!(text.contains("How to fix azure.storage.account-key"), "{text}");
    assert!(text.contains("Security + networking > Access keys"), "{text}");
    let (_, github, _) = run(azleak(t.path()).args(["scan", ".", "-f", "github"]));
    assert!(github.contains("Rotate the key (Access keys > Rotate key)"), "{github}");
    assert!(!github.contains("Entra ID > App registrations"), "{github}");
    let (_, sarif, _) = run(azleak(t.path()).args(["scan", ".", "-f", "sarif"]));
    let doc = json(&sarif);
    let rules = doc["runs"][0]["tool"]["driver"]["rules"].as_array().expect("rules");
    let rule = rules.iter().find(|r| r["id"] == "azure.storage.account-key").expect("rule");
    assert!(rule["help"]["text"].as_str().unwrap().contains("disable shared key"), "{rule}");
    let result = &doc["runs"][0]["results"][0];
    assert!(result["message"]["text"].as_str().unwrap().contains("Rotate the key"), "{result}");
}

#[test]
fn binaries_hold_proven_keys_raw_and_utf16_but_context_rules_do_not_run_on_them() {
    let cases = cases();
    let t = TempTree::new();
    let (storage, sb) = (&cases[0].key, &cases[7].key);
    let mut bin = vec![0u8, 1, 2, 3, 0, 0xff];
    bin.extend_from_slice(format!("\0AccountKey={storage}\0").as_bytes());
    bin.extend_from_slice(&[0, 0, 7]);
    for unit in format!("SharedAccessKey={sb}").encode_utf16() {
        bin.extend_from_slice(&unit.to_le_bytes());
    }
    // A legacy (no checksum) key in context: never reported from a binary.
    bin.extend_from_slice(b"\0AccountName=x;AccountKey=");
    bin.extend_from_slice(&[b'Q'; 30]);
    bin.extend_from_slice(b"w8Kd93mZpQ0aLxR7vN2bT5yH1cJ6fE4gU9sW3oI0kA7nM2lP8qZrVtX1==\0");
    t.file("lib/app.dll", &bin);
    let (_, out, err) =
        run(azleak(t.path()).args(["scan", ".", "-f", "json", "--min-confidence", "low"]));
    let doc = json(&out);
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["azure.storage.account-key", "azure.service-bus.key"], "{out}{err}");
}

#[test]
fn sas_tokens_report_their_expiry_and_whether_it_is_past() {
    let t = TempTree::new();
    let sig = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u%3D";
    t.file(
        "urls.txt",
        format!(
            "old = https://c.blob.core.windows.net/b/f?sp=r&st=2021-01-01T00:00:00Z&se=2021-06-30T17%3A07%3A53Z&spr=https&sv=2022-11-02&sr=b&sig={sig}\n\
             new = https://c.blob.core.windows.net/b/f?se=2099-01-01&sp=r&sv=2022-11-02&sr=b&sig=Q{}\n",
            &sig[1..]
        ),
    );
    let (_, out, _) = run(azleak(t.path()).args(["scan", ".", "-f", "json"]));
    let doc = json(&out);
    let f = doc["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2, "{out}");
    assert_eq!(f[0]["rule_id"], "azure.storage.sas-token");
    assert_eq!(f[0]["expires"]["at"], "2021-06-30T17:07:53Z");
    assert_eq!(f[0]["expires"]["expired"], true);
    assert_eq!(f[1]["expires"]["at"], "2099-01-01");
    assert_eq!(f[1]["expires"]["expired"], false);
    let (_, text, _) = run(azleak(t.path()).args(["scan", "."]));
    assert!(text.contains("expired 2021-06-30T17:07:53Z (already past)"), "{text}");
    assert!(text.contains("expires 2099-01-01"), "{text}");
    let (_, sarif, _) = run(azleak(t.path()).args(["scan", ".", "-f", "sarif"]));
    let doc = json(&sarif);
    let props = &doc["runs"][0]["results"][0]["properties"];
    assert_eq!(
        (props["expires"].as_str(), props["expired"].as_bool()),
        (Some("2021-06-30T17:07:53Z"), Some(true))
    );
}

#[test]
fn placeholders_and_the_azurite_key_are_not_findings() {
    let t = TempTree::new();
    t.file(
        "local.settings.json",
        "{\"AzureWebJobsStorage\": \"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;\"}\n\
         AccountName=<name>;AccountKey=<key>\n\
         SharedAccessKey=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=\n\
         AccountKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
    );
    let (code, out, err) = run(azleak(t.path()).args(["scan", ".", "-f", "json"]));
    assert_eq!(code, 0, "{out}{err}");
}
