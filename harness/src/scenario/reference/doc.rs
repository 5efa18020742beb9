//! What a registry's macro keeps of each word (its doc comment, its serde keys), for the
//! reference: a leaf, so the registries can use it without importing the printer.

use std::fmt;

use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, Visitor};

/// One entry of a registry, as the registry's macro writes it: the word's doc comment (the
/// lines of `///`, joined) and how to ask its type for its keys.
pub(crate) struct WordDoc {
    pub doc: &'static str,
    pub shape: fn() -> Shape,
}

/// What a type deserialises from, as far as the reference needs to say.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    /// A table with these keys (serde's names: renames applied, in declaration order).
    Table(&'static [&'static str]),
    /// One of these words (an enum).
    OneOf(&'static [&'static str]),
    /// A single value (a string, a number: a transparent newtype).
    Value,
}

/// The shape of `T`, asked of serde's derive.
pub(crate) fn shape<T: DeserializeOwned>() -> Shape {
    match T::deserialize(Probe) {
        Err(Found(Some(shape))) => shape,
        // A type that asks nothing of its deserializer, or fails before it does.
        Ok(_) | Err(Found(None)) => Shape::Value,
    }
}

/// A deserializer that answers every request with an error carrying what was requested.
struct Probe;

/// The "error" [`Probe`] stops with: the shape asked for, if the type asked for one.
#[derive(Debug)]
struct Found(Option<Shape>);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl de::Error for Found {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Found(None)
    }
}

impl<'de> Deserializer<'de> for Probe {
    type Error = Found;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        Err(Found(Some(Shape::Value)))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        // `toml::Spanned<T>` is a struct of serde's private names around one value.
        if name.starts_with("$__") {
            Err(Found(Some(Shape::Value)))
        } else {
            Err(Found(Some(Shape::Table(fields))))
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        Err(Found(Some(Shape::OneOf(variants))))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

/// One word of a registry: its key in the scenario file, its text, its keys.
pub(crate) struct Entry {
    pub word: &'static str,
    pub doc: String,
    pub shape: Shape,
}

/// The entries of a registry enum `R`, its words from serde zipped with its docs (the macro
/// writes both from one list, in one order).
pub(crate) fn entries<'de, R: Deserialize<'de>>(docs: &[WordDoc]) -> Vec<Entry> {
    let Err(Found(Some(Shape::OneOf(words)))) = R::deserialize(Probe) else {
        unreachable!("a registry is an enum");
    };
    assert_eq!(words.len(), docs.len(), "one doc per word");
    words
        .iter()
        .zip(docs)
        .map(|(word, d)| Entry {
            word,
            doc: unindent(d.doc),
            shape: (d.shape)(),
        })
        .collect()
}

/// A doc comment's text: `/// text` keeps the space after the slashes; drop it.
fn unindent(doc: &str) -> String {
    doc.lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}
