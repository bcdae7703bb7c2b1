//! Every GatewayService RPC is exercised through the gateway by some suite test: the list of
//! RPCs comes from the protos' descriptors, so a new RPC without a test fails here.

use std::collections::BTreeSet;

use switchboard_proto::prost::Message as _;

/// `GetMe` → `get_me`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

#[test]
fn every_gateway_rpc_is_called_by_a_gateway_test() {
    use switchboard_proto::prost_types::FileDescriptorSet;
    let set =
        FileDescriptorSet::decode(switchboard_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
    let methods: BTreeSet<String> = set
        .file
        .iter()
        .filter(|f| f.package() == "switchboard.gateway.v1")
        .flat_map(|f| f.service.iter())
        .filter(|s| s.name() == "GatewayService")
        .flat_map(|s| s.method.iter().map(|m| m.name().to_string()))
        .collect();
    assert!(methods.len() >= 84, "{methods:?}");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/suite");
    let sources: String = std::fs::read_dir(dir)
        .expect("suite dir")
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.starts_with("gateway_") && name != "gateway_coverage.rs"
        })
        .map(|e| std::fs::read_to_string(e.path()).expect("source"))
        .collect();
    let untested: Vec<&String> = methods
        .iter()
        .filter(|m| !sources.contains(&format!(".{}(", snake(m))))
        .collect();
    assert!(
        untested.is_empty(),
        "GatewayService RPCs no gateway test calls: {untested:?}"
    );
}
