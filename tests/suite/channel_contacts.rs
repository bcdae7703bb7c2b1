//! Contact tags over real gRPC: set on create, added and removed (once per request id, all or
//! nothing), replaced through UpdateContact, found by one or several tags ignoring case, bad
//! tags refused with the field named, and never another organization's contacts.

use switchboard_proto::{
    channel::v1::{self as ch, channel_service_client::ChannelServiceClient},
    routing::v1 as pb,
};
use switchboard_testkit::Backend;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::{channel_support::ChannelWorld, on_both_backends, routing_support::rid};

type Client = ChannelServiceClient<Channel>;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

async fn create(
    c: &mut Client,
    org: &str,
    actor: &str,
    phone: &str,
    tags: &[&str],
) -> Result<ch::Contact, tonic::Status> {
    Ok(c.create_contact(ch::CreateContactRequest {
        request_id: rid(),
        organization_id: org.into(),
        actor_agent_id: actor.into(),
        phone_number: phone.into(),
        tags: strings(tags),
        ..Default::default()
    })
    .await?
    .into_inner()
    .contact
    .expect("contact"))
}

async fn add(
    c: &mut Client,
    org: &str,
    actor: &str,
    request_id: &str,
    contact: &str,
    tags: &[&str],
) -> Result<Vec<String>, tonic::Status> {
    Ok(c.add_contact_tags(ch::AddContactTagsRequest {
        request_id: request_id.into(),
        organization_id: org.into(),
        actor_agent_id: actor.into(),
        contact_id: contact.into(),
        tags: strings(tags),
    })
    .await?
    .into_inner()
    .contact
    .expect("contact")
    .tags)
}

async fn remove(
    c: &mut Client,
    org: &str,
    actor: &str,
    request_id: &str,
    contact: &str,
    tags: &[&str],
) -> Result<Vec<String>, tonic::Status> {
    Ok(c.remove_contact_tags(ch::RemoveContactTagsRequest {
        request_id: request_id.into(),
        organization_id: org.into(),
        actor_agent_id: actor.into(),
        contact_id: contact.into(),
        tags: strings(tags),
    })
    .await?
    .into_inner()
    .contact
    .expect("contact")
    .tags)
}

/// The phone numbers of the contacts of `org` with every tag of `tags`, sorted.
async fn tagged(c: &mut Client, org: &str, tags: &[&str]) -> Result<Vec<String>, tonic::Status> {
    let mut phones: Vec<String> = c
        .list_contacts(ch::ListContactsRequest {
            organization_id: org.into(),
            page: Some(switchboard_proto::common::v1::PageRequest {
                page_size: 100,
                page_token: String::new(),
            }),
            tags: strings(tags),
            ..Default::default()
        })
        .await?
        .into_inner()
        .contacts
        .into_iter()
        .map(|c| c.phone_number)
        .collect();
    phones.sort();
    Ok(phones)
}

async fn tags_of(c: &mut Client, org: &str, id: &str) -> anyhow::Result<Vec<String>> {
    Ok(c.get_contact(ch::GetContactRequest {
        organization_id: org.into(),
        lookup: Some(ch::get_contact_request::Lookup::ContactId(id.into())),
    })
    .await?
    .into_inner()
    .contact
    .expect("contact")
    .tags)
}

/// The fields an INVALID_ARGUMENT names.
fn fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

const ANA: &str = "+5491155550401";
const BEA: &str = "+5491155550402";
const CARO: &str = "+5491155550403";

async fn contacts_are_tagged_found_by_their_tags_and_untagged(
    backend: Backend,
) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    let mut c = w.channel.clone();
    let org = w.world.org.clone();
    let me = w.agent.clone();

    // Tags on create: trimmed, sorted ignoring case, spelled as written.
    let ana = create(&mut c, &org, &me, ANA, &[" VIP ", "mayorista"]).await?;
    assert_eq!(ana.tags, strings(&["mayorista", "VIP"]));
    let bea = create(&mut c, &org, &me, BEA, &["vip"]).await?;
    let caro = create(&mut c, &org, &me, CARO, &[]).await?;
    assert!(caro.tags.is_empty());
    // An existing number is returned unchanged: its tags are not touched by a create.
    let again = create(&mut c, &org, &me, ANA, &["otra"]).await?;
    assert_eq!(again.id, ana.id);
    assert_eq!(again.tags, strings(&["mayorista", "VIP"]));

    // Adding keeps what the contact has; a tag it has in another case stays as first written.
    let r1 = rid();
    let tags = add(&mut c, &org, &me, &r1, &ana.id, &["vip", "Reclamo"]).await?;
    assert_eq!(tags, strings(&["mayorista", "Reclamo", "VIP"]));
    assert_eq!(
        add(&mut c, &org, &me, &rid(), &caro.id, &["Reclamo"]).await?,
        strings(&["Reclamo"])
    );
    assert_eq!(tags_of(&mut c, &org, &ana.id).await?, tags, "stored");

    // Filter: one tag, several tags (all of them), ignoring case; nobody has "nadie".
    assert_eq!(tagged(&mut c, &org, &["VIP"]).await?, strings(&[ANA, BEA]));
    assert_eq!(
        tagged(&mut c, &org, &["reclamo"]).await?,
        strings(&[ANA, CARO])
    );
    assert_eq!(
        tagged(&mut c, &org, &["Vip", "RECLAMO"]).await?,
        strings(&[ANA])
    );
    assert_eq!(
        tagged(&mut c, &org, &["vip", "reclamo", "mayorista"]).await?,
        strings(&[ANA])
    );
    assert!(tagged(&mut c, &org, &["nadie"]).await?.is_empty());
    assert_eq!(
        tagged(&mut c, &org, &[]).await?,
        strings(&[ANA, BEA, CARO]),
        "no tags: no filter"
    );

    // Untag, ignoring case; a tag it does not have is ignored.
    let r2 = rid();
    assert_eq!(
        remove(&mut c, &org, &me, &r2, &ana.id, &["vip", "nunca"]).await?,
        strings(&["mayorista", "Reclamo"])
    );
    assert_eq!(tagged(&mut c, &org, &["vip"]).await?, strings(&[BEA]));
    // Once per request id: after someone tags it again, a retried removal removes nothing and
    // answers what the first removal answered; a retried add adds nothing; the same id for
    // another request is refused.
    add(&mut c, &org, &me, &rid(), &ana.id, &["VIP"]).await?;
    assert_eq!(
        remove(&mut c, &org, &me, &r2, &ana.id, &["vip", "nunca"]).await?,
        strings(&["mayorista", "Reclamo"]),
        "the first answer"
    );
    assert_eq!(
        tags_of(&mut c, &org, &ana.id).await?,
        strings(&["mayorista", "Reclamo", "VIP"]),
        "no second removal"
    );
    remove(&mut c, &org, &me, &rid(), &ana.id, &["reclamo"]).await?;
    assert_eq!(
        add(&mut c, &org, &me, &r1, &ana.id, &["vip", "Reclamo"]).await?,
        strings(&["mayorista", "Reclamo", "VIP"]),
        "the first answer"
    );
    assert_eq!(
        tags_of(&mut c, &org, &ana.id).await?,
        strings(&["mayorista", "VIP"]),
        "no second add"
    );
    let reused = add(&mut c, &org, &me, &r1, &ana.id, &["otra"])
        .await
        .expect_err("another request under the same id");
    assert_eq!(fields(&reused), strings(&["request_id"]));

    // UpdateContact with the "tags" mask replaces the set.
    let updated = c
        .update_contact(ch::UpdateContactRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: me.clone(),
            contact: Some(ch::Contact {
                id: bea.id.clone(),
                tags: strings(&["Mayorista", "norte"]),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: strings(&["tags"]),
            }),
        })
        .await?
        .into_inner()
        .contact
        .expect("contact");
    assert_eq!(updated.tags, strings(&["Mayorista", "norte"]));
    assert_eq!(
        tagged(&mut c, &org, &["mayorista"]).await?,
        strings(&[ANA, BEA])
    );
    assert!(
        tagged(&mut c, &org, &["vip"])
            .await?
            .iter()
            .all(|p| p != BEA)
    );
    w.stop().await
}
on_both_backends!(contacts_are_tagged_found_by_their_tags_and_untagged);

async fn bad_tags_are_refused_by_field_and_change_nothing(backend: Backend) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    let mut c = w.channel.clone();
    let org = w.world.org.clone();
    let me = w.agent.clone();
    let ana = create(&mut c, &org, &me, ANA, &["vip"]).await?;

    // Blank, too long, repeated ignoring case: each named by its position, nothing added.
    let long = "x".repeat(65);
    let bad = add(
        &mut c,
        &org,
        &me,
        &rid(),
        &ana.id,
        &["ok", "  ", &long, "Dup", "dup"],
    )
    .await
    .expect_err("bad tags");
    assert_eq!(fields(&bad), strings(&["tags[1]", "tags[2]", "tags[4]"]));
    let none = add(&mut c, &org, &me, &rid(), &ana.id, &[])
        .await
        .expect_err("no tags");
    assert_eq!(fields(&none), strings(&["tags"]));
    assert_eq!(tags_of(&mut c, &org, &ana.id).await?, strings(&["vip"]));
    // 64 characters (not bytes) is fine.
    let ene = "ñ".repeat(64);
    add(&mut c, &org, &me, &rid(), &ana.id, &[&ene]).await?;
    remove(&mut c, &org, &me, &rid(), &ana.id, &[&ene]).await?;

    // On create: no contact is made.
    let refused = create(&mut c, &org, &me, BEA, &["a", "A"])
        .await
        .expect_err("repeated tag");
    assert_eq!(fields(&refused), strings(&["tags[1]"]));
    assert!(
        tagged(&mut c, &org, &[]).await?.iter().all(|p| p != BEA),
        "a refused create made a contact"
    );
    // On update, named under contact.
    let refused = c
        .update_contact(ch::UpdateContactRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: me.clone(),
            contact: Some(ch::Contact {
                id: ana.id.clone(),
                tags: strings(&[""]),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: strings(&["tags"]),
            }),
        })
        .await
        .expect_err("blank tag");
    assert_eq!(fields(&refused), strings(&["contact.tags[0]"]));
    // In a filter.
    let refused = tagged(&mut c, &org, &["vip", ""])
        .await
        .expect_err("blank filter tag");
    assert_eq!(fields(&refused), strings(&["tags[1]"]));
    assert_eq!(tags_of(&mut c, &org, &ana.id).await?, strings(&["vip"]));

    // At most 50 per contact: 49 more fit, the 51st is refused and nothing of that call lands.
    let many: Vec<String> = (0..49).map(|i| format!("t{i:02}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        add(&mut c, &org, &me, &rid(), &ana.id, &many).await?.len(),
        50
    );
    let full = add(
        &mut c,
        &org,
        &me,
        &rid(),
        &ana.id,
        &["vip", "una-mas", "otra-mas"],
    )
    .await
    .expect_err("51 tags");
    assert_eq!(fields(&full), strings(&["tags"]));
    let kept = tags_of(&mut c, &org, &ana.id).await?;
    assert_eq!(kept.len(), 50);
    assert!(!kept.iter().any(|t| t == "una-mas"));
    w.stop().await
}
on_both_backends!(bad_tags_are_refused_by_field_and_change_nothing);

async fn another_organizations_contacts_are_never_tagged_or_returned(
    backend: Backend,
) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    let mut c = w.channel.clone();
    let org = w.world.org.clone();
    let me = w.agent.clone();
    let other = w
        .world
        .routing
        .clone()
        .create_organization(pb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Otra".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    // The same number and tag in both organizations (the system creates the other's).
    let mine = create(&mut c, &org, &me, ANA, &["vip"]).await?;
    let theirs = create(&mut c, &other, "", ANA, &["vip", "norte"]).await?;
    assert_ne!(mine.id, theirs.id);

    assert_eq!(tagged(&mut c, &org, &["vip"]).await?, strings(&[ANA]));
    let listed = c
        .list_contacts(ch::ListContactsRequest {
            organization_id: org.clone(),
            tags: strings(&["vip"]),
            ..Default::default()
        })
        .await?
        .into_inner()
        .contacts;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, mine.id);
    assert_eq!(
        listed[0].tags,
        strings(&["vip"]),
        "only this organization's tags"
    );
    assert!(tagged(&mut c, &org, &["norte"]).await?.is_empty());

    // Tagging or untagging the other organization's contact through this one: not found, and
    // its tags stay.
    let missing = add(&mut c, &org, &me, &rid(), &theirs.id, &["robado"])
        .await
        .expect_err("not this organization's contact");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let missing = remove(&mut c, &org, &me, &rid(), &theirs.id, &["vip"])
        .await
        .expect_err("not this organization's contact");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    assert_eq!(
        tags_of(&mut c, &other, &theirs.id).await?,
        strings(&["norte", "vip"])
    );
    // Untagging mine leaves theirs.
    remove(&mut c, &org, &me, &rid(), &mine.id, &["vip"]).await?;
    assert_eq!(tagged(&mut c, &other, &["vip"]).await?, strings(&[ANA]));
    assert!(tagged(&mut c, &org, &["vip"]).await?.is_empty());
    w.stop().await
}
on_both_backends!(another_organizations_contacts_are_never_tagged_or_returned);
