//! The event loop of the XML report formats (Cobertura, JaCoCo): elements as they open and
//! close, text and declarations skipped. quick-xml resolves no DTD and expands no entity.

use quick_xml::events::{BytesStart, Event};

/// An element opening (`has_children` false for `<x/>`), or one closing by its name.
pub(super) enum Tag<'e, 'a> {
    Open {
        element: &'e BytesStart<'a>,
        has_children: bool,
    },
    Close(&'e [u8]),
}

/// Hands every element of `text` to `on`, in document order; the first error stops reading.
pub(super) fn read_tags(
    text: &str,
    mut on: impl FnMut(Tag<'_, '_>) -> Result<(), String>,
) -> Result<(), String> {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        match &event {
            Event::Start(element) => on(Tag::Open {
                element,
                has_children: true,
            })?,
            Event::Empty(element) => on(Tag::Open {
                element,
                has_children: false,
            })?,
            Event::End(e) => on(Tag::Close(e.name().as_ref()))?,
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}
