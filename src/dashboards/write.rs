//! The one writer of dashboard files. Whatever builds a dashboard (the
//! pages vigil writes for its sources, a Grafana import) builds a typed
//! [`Dashboard`] and prints it here, so every file vigil writes has one
//! layout, that of `dashboards/default.toml`: a `[[page]]`, `[[page.row]]`
//! and `[[page.row.panel]]` table each, a panel's query, labels, lines and
//! columns inside its own table. Values are written by the `toml` crate
//! (PromQL, full of quotes, becomes a literal string), and what a spec
//! holds at its default is left out, so the file reads back equal.

use super::spec::Dashboard;
use serde::Serialize;
use serde::ser::{self, Impossible};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Comments a file carries with it: lines at its head, and a line above
/// each panel that has one, by (page, row, panel) index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comments {
    pub header: Vec<String>,
    pub panels: BTreeMap<(usize, usize, usize), String>,
}

/// The dashboard as a TOML file that [`Dashboard::parse`] reads back equal.
pub fn to_toml(dash: &Dashboard, comments: &Comments) -> String {
    let mut out = String::new();
    for line in &comments.header {
        comment(&mut out, line);
    }
    fields(&mut out, dash, &["page"]);
    for (p, page) in dash.pages.iter().enumerate() {
        out.push_str("\n[[page]]\n");
        fields(&mut out, page, &["row"]);
        for (r, row) in page.rows.iter().enumerate() {
            out.push_str("\n[[page.row]]\n");
            fields(&mut out, row, &["panel"]);
            for (n, panel) in row.panels.iter().enumerate() {
                out.push('\n');
                if let Some(c) = comments.panels.get(&(p, r, n)) {
                    comment(&mut out, c);
                }
                out.push_str("[[page.row.panel]]\n");
                fields(&mut out, panel, &[]);
            }
        }
    }
    out
}

/// One comment line; the text is ours but may quote a title, so it is kept
/// to one safe line.
fn comment(out: &mut String, text: &str) {
    let _ = writeln!(out, "# {}", crate::wire::sanitize(text).replace(['\n', '\r'], " "));
}

/// `key = value` for each field of `value` but those in `skip` (the tables
/// the caller writes itself).
fn fields<T: Serialize>(out: &mut String, value: &T, skip: &'static [&'static str]) {
    value.serialize(Fields { out, skip }).expect("a dashboard spec is made of what TOML can hold");
}

type Error = toml::ser::Error;

fn not_a_table() -> Error {
    ser::Error::custom("only a struct is written as a table")
}

/// Writes a struct's fields as the lines of a table.
struct Fields<'a> {
    out: &'a mut String,
    skip: &'static [&'static str],
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        if self.skip.contains(&key) {
            return Ok(());
        }
        let mut text = String::new();
        // An array of tables gets a line per element; anything else is one
        // inline value.
        if value.serialize(Elements { out: &mut text }).is_err() {
            text.clear();
            value.serialize(toml::ser::ValueSerializer::new(&mut text))?;
        }
        let _ = writeln!(self.out, "{key} = {text}");
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Writes an array of tables one element to a line.
struct Elements<'a> {
    out: &'a mut String,
}

impl ser::SerializeSeq for Elements<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let mut text = String::new();
        value.serialize(toml::ser::ValueSerializer::new(&mut text))?;
        if !text.starts_with('{') {
            return Err(not_a_table());
        }
        let _ = writeln!(self.out, "  {text},");
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        self.out.push(']');
        Ok(())
    }
}

/// The methods of a serializer that takes one shape of value only.
macro_rules! refuse {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<Self::Ok, Error> { Err(not_a_table()) })*
    };
}

macro_rules! refuse_compound {
    () => {
        type SerializeTuple = Impossible<(), Error>;
        type SerializeTupleStruct = Impossible<(), Error>;
        type SerializeTupleVariant = Impossible<(), Error>;
        type SerializeMap = Impossible<(), Error>;
        type SerializeStructVariant = Impossible<(), Error>;

        refuse!(
            serialize_bool(bool),
            serialize_i8(i8),
            serialize_i16(i16),
            serialize_i32(i32),
            serialize_i64(i64),
            serialize_u8(u8),
            serialize_u16(u16),
            serialize_u32(u32),
            serialize_u64(u64),
            serialize_f32(f32),
            serialize_f64(f64),
            serialize_char(char),
            serialize_str(&str),
            serialize_bytes(&[u8]),
            serialize_none(),
            serialize_unit(),
            serialize_unit_struct(&'static str),
            serialize_unit_variant(&'static str, u32, &'static str),
        );

        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
            value.serialize(self)
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Error> {
            value.serialize(self)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<(), Error> {
            Err(not_a_table())
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
            Err(not_a_table())
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Error> {
            Err(not_a_table())
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err(not_a_table())
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
            Err(not_a_table())
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err(not_a_table())
        }
    };
}

impl<'a> ser::Serializer for Fields<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeStruct = Fields<'a>;
    refuse_compound!();

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_a_table())
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, Error> {
        Ok(self)
    }
}

impl<'a> ser::Serializer for Elements<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Elements<'a>;
    type SerializeStruct = Impossible<(), Error>;
    refuse_compound!();

    fn serialize_seq(self, _: Option<usize>) -> Result<Elements<'a>, Error> {
        self.out.push_str("[\n");
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(not_a_table())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboards::spec::{LineSpec, PageSpec, PanelKind, PanelSpec, QuerySpec, RowSpec};
    use std::path::Path;

    fn read_back(text: &str) -> Dashboard {
        Dashboard::parse(text, Path::new("written.toml")).unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
    }

    #[test]
    fn the_built_in_dashboard_reads_back_equal() {
        let d = Dashboard::built_in();
        assert_eq!(read_back(&to_toml(&d, &Comments::default())), d);
        // The serializer's own layout says the same.
        assert_eq!(read_back(&toml::to_string(&d).unwrap()), d);
    }

    #[test]
    fn a_built_spec_is_written_tidily_with_its_comments() {
        let query = QuerySpec {
            promql: Some(r#"sum by (le) (rate(x_bucket{job="a\\b"}[1m]))"#.into()),
            source: Some("eu".into()),
            ..QuerySpec::default()
        };
        let mut chart = PanelSpec::new(PanelKind::Chart, "Latency");
        chart.query = Some(query);
        chart.lines =
            ["p50", "p99"].map(|t| LineSpec { title: t.into(), q: Some(0.5), ..LineSpec::default() }).to_vec();
        let mut text = PanelSpec::new(PanelKind::Text, "About");
        text.text = Some("two\nlines with 'quotes' and \"more\"".into());
        let page = PageSpec {
            window: Some(5_400_000),
            rows: vec![RowSpec { height: Some(6), panels: vec![chart, text] }],
            ..PageSpec::new("Odd \"title\"")
        };
        let dash = Dashboard { extends: None, pages: vec![page] };
        let comments = Comments {
            header: vec!["Made by a test.".into()],
            panels: BTreeMap::from([((0, 0, 1), "a text\npanel".into())]),
        };
        let text = to_toml(&dash, &comments);
        assert_eq!(read_back(&text), dash);
        assert!(text.starts_with("# Made by a test.\n\n[[page]]\n"), "{text}");
        assert!(text.contains("\n# a text panel\n[[page.row.panel]]\ntype = \"text\"\n"), "{text}");
        assert!(text.contains(r#"query = 'sum by (le) (rate(x_bucket{job="a\\b"}[1m]))'"#), "{text}");
        assert!(text.contains("lines = [\n  { title = \"p50\", q = 0.5 },\n"), "{text}");
        assert!(text.contains("window = \"1h 30m\""), "{text}");
        assert!(!text.contains("width") && !text.contains("sort"), "defaults are left out: {text}");
    }
}
