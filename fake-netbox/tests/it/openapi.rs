//! Field sets against NetBox's own OpenAPI schema (`netbox-4.7.3-openapi.json.txt.gz`): the full
//! representation of every served object has exactly the schema's properties, in the schema's
//! order, and every choice field only takes values the schema lists.

use std::io::Read;

use serde_json::{Value, json};

use crate::common::{self, Client, fake};
use fake_netbox::Fixture;

fn schema() -> Option<Value> {
    let dir = common::reference("comparing field sets with NetBox's OpenAPI schema")?;
    let path = dir.join("netbox-samples/netbox-4.7.3-openapi.json.txt.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("schema file"))
        .read_to_string(&mut text)
        .expect("gzip");
    // The file is a recorded exchange: request line and headers, then the JSON document.
    let start = text.find("\n{").expect("JSON document") + 1;
    Some(serde_json::from_str(&text[start..]).expect("schema JSON"))
}

#[tokio::test(start_paused = true)]
async fn every_object_has_exactly_the_schemas_fields() {
    let Some(schema) = schema() else { return };
    let schemas = &schema["components"]["schemas"];
    let c = Client::new(&fake(Fixture::Vlab));
    // Objects the VLAB fixture does not have.
    c.create(
        "/api/extras/custom-field-choice-sets/",
        json!({"name": "modes", "extra_choices": [["a", "A"]]}),
    )
    .await;
    c.create(
        "/api/extras/journal-entries/",
        json!({"assigned_object_type": "dcim.site", "assigned_object_id": 1, "comments": "x"}),
    )
    .await;
    c.create("/api/dcim/virtual-chassis/", json!({"name": "vc-1"}))
        .await;
    let endpoints = [
        ("dcim/sites", "Site"),
        ("dcim/manufacturers", "Manufacturer"),
        ("dcim/device-types", "DeviceType"),
        ("dcim/device-roles", "DeviceRole"),
        ("dcim/platforms", "Platform"),
        ("dcim/devices", "Device"),
        ("dcim/interfaces", "Interface"),
        ("dcim/cables", "Cable"),
        ("dcim/cable-terminations", "CableTermination"),
        ("dcim/virtual-chassis", "VirtualChassis"),
        ("dcim/mac-addresses", "MACAddress"),
        ("ipam/vrfs", "VRF"),
        ("ipam/prefixes", "Prefix"),
        ("ipam/ip-addresses", "IPAddress"),
        ("ipam/vlan-groups", "VLANGroup"),
        ("ipam/vlans", "VLAN"),
        ("extras/tags", "Tag"),
        ("extras/custom-fields", "CustomField"),
        ("extras/custom-field-choice-sets", "CustomFieldChoiceSet"),
        ("extras/journal-entries", "JournalEntry"),
        ("core/object-changes", "ObjectChange"),
    ];
    let mut checked = 0;
    for (ep, name) in endpoints {
        let s = &schemas[name];
        let want: Vec<&str> = s["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} in schema"))
            .keys()
            .map(String::as_str)
            .collect();
        let r = c.get(&format!("/api/{ep}/?limit=50")).await;
        let results = r.results();
        assert!(!results.is_empty(), "{ep} has objects to check");
        for obj in results {
            let got: Vec<&str> = obj
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(got, want, "{ep}: fields of {}", obj["display"]);
            for (field, spec) in s["properties"].as_object().unwrap() {
                let Some(values) = spec["properties"]["value"]["enum"].as_array() else {
                    continue;
                };
                if let Some(v) = obj[field].get("value") {
                    assert!(
                        values.contains(v),
                        "{ep}.{field}: {v} is not among the schema's choices"
                    );
                }
            }
            checked += 1;
        }
    }
    println!("checked {checked} objects against the OpenAPI schema");
}
