//! Metadata lists decoded without building objects: only name, resourceVersion and the labels
//! and annotations a caller asked for, borrowing from the response text (managedFields and the
//! rest are skipped while parsing).
//!
//! It sends no requests; [`super::Cluster::list_metadata`] does.

use std::borrow::Cow;

/// The identity and bookkeeping of one object, from a metadata list: the labels and annotations
/// the caller asked for, nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMetaLite {
    pub name: String,
    pub resource_version: String,
    /// The requested labels the object has, in the object's order.
    pub labels: Vec<(String, String)>,
    /// The requested annotations the object has, in the object's order.
    pub annotations: Vec<(String, String)>,
}

impl ObjectMetaLite {
    /// The value of label `key` (when it was requested and is set).
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of annotation `key` (when it was requested and is set).
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One metadata-list item as it arrives, borrowing from the response text.
#[derive(serde::Deserialize)]
struct MetaItemB<'a> {
    #[serde(borrow, default)]
    metadata: MetaB<'a>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MetaB<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    resource_version: Cow<'a, str>,
    #[serde(borrow, default)]
    labels: Pairs<'a>,
    #[serde(borrow, default)]
    annotations: Pairs<'a>,
}

/// A JSON object of strings (or `null`) read as its pairs in order, borrowing, without a map.
#[derive(Default)]
struct Pairs<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Pairs<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_unit<E>(self) -> Result<Pairs<'a>, E> {
                Ok(Pairs::default())
            }
            fn visit_none<E>(self) -> Result<Pairs<'a>, E> {
                Ok(Pairs::default())
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Pairs<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<Borrowed<'a>, Borrowed<'a>>()? {
                    out.push((k.0, v.0));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A string that borrows from the input when it has no escapes.
#[derive(serde::Deserialize)]
struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);

impl Pairs<'_> {
    fn pick(&self, keys: &[&str]) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(k, _)| keys.contains(&k.as_ref()))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

#[derive(serde::Deserialize)]
pub(super) struct MetaListB<'a> {
    #[serde(default)]
    metadata: kube::core::ListMeta,
    #[serde(borrow, default)]
    items: Option<Vec<MetaItemB<'a>>>,
}

impl MetaListB<'_> {
    /// One page of a metadata list, keeping only the labels and annotations asked for.
    pub fn decode(
        text: &str,
        labels: &[&str],
        annotations: &[&str],
    ) -> Result<kube::core::ObjectList<ObjectMetaLite>, serde_json::Error> {
        let list: MetaListB<'_> = serde_json::from_str(text)?;
        Ok(kube::core::ObjectList {
            types: Default::default(),
            metadata: list.metadata,
            items: list
                .items
                .unwrap_or_default()
                .into_iter()
                .map(|i| ObjectMetaLite {
                    name: i.metadata.name.into_owned(),
                    resource_version: i.metadata.resource_version.into_owned(),
                    labels: i.metadata.labels.pick(labels),
                    annotations: i.metadata.annotations.pick(annotations),
                })
                .collect(),
        })
    }
}
