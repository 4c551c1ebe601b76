//! A libxml2 document owned by Rust for the length of one call.

use std::ffi::{c_int, CStr, CString};
use std::ptr;

use super::{ffi, XmlSecError};

pub type NodePtr = *mut ffi::xmlNode;

pub struct Document(*mut ffi::xmlDoc);

impl Document {
    /// Parses without network access and without a DTD: SAML messages carry none, and a DTD
    /// is how entity-expansion and external-entity attacks arrive.
    pub fn parse(xml: &str) -> Result<Document, XmlSecError> {
        roxmltree::Document::parse(xml).map_err(|err| XmlSecError::Parse(err.to_string()))?;
        let len = c_int::try_from(xml.len())
            .map_err(|_| XmlSecError::Parse("document too large".into()))?;
        // SAFETY: the buffer outlives the call; libxml2 copies what it keeps.
        let doc = unsafe {
            ffi::xmlReadMemory(
                xml.as_ptr().cast(),
                len,
                ptr::null(),
                c"UTF-8".as_ptr(),
                ffi::xmlParserOption_XML_PARSE_NONET as c_int,
            )
        };
        if doc.is_null() {
            return Err(XmlSecError::Parse("libxml2 refused the document".into()));
        }
        Ok(Document(doc))
    }

    pub fn raw(&self) -> *mut ffi::xmlDoc {
        self.0
    }

    pub fn root(&self) -> Result<Node<'_>, XmlSecError> {
        // SAFETY: the document is live.
        let root = unsafe { ffi::xmlDocGetRootElement(self.0) };
        if root.is_null() {
            return Err(XmlSecError::Parse(
                "the document has no root element".into(),
            ));
        }
        Ok(Node {
            raw: root,
            _doc: std::marker::PhantomData,
        })
    }

    /// Makes every `ID` attribute an XML ID, so `#id` references resolve to it.
    pub fn register_ids(&self) -> Result<(), XmlSecError> {
        let root = self.root()?;
        let mut names: [*const ffi::xmlChar; 2] = [c"ID".as_ptr().cast(), ptr::null()];
        // SAFETY: names is NUL-terminated and outlives the call.
        unsafe { ffi::xmlSecAddIDs(self.0, root.raw, names.as_mut_ptr()) };
        Ok(())
    }

    /// The root element as text, without an XML declaration.
    pub fn serialize_root(&self) -> Result<String, XmlSecError> {
        let root = self.root()?;
        // SAFETY: the buffer is created, filled from the live document, copied, and freed.
        unsafe {
            let buffer = ffi::xmlBufferCreate();
            if buffer.is_null() {
                return Err(XmlSecError::Shape("out of memory".into()));
            }
            let written = ffi::xmlNodeDump(buffer, self.0, root.raw, 0, 0);
            let result = if written < 0 {
                Err(XmlSecError::Shape(
                    "the document could not be written".into(),
                ))
            } else {
                let content = ffi::xmlBufferContent(buffer);
                let len = ffi::xmlBufferLength(buffer) as usize;
                let bytes = std::slice::from_raw_parts(content, len);
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| XmlSecError::Shape("libxml2 wrote invalid UTF-8".into()))
            };
            ffi::xmlBufferFree(buffer);
            result
        }
    }
}

impl Drop for Document {
    fn drop(&mut self) {
        // SAFETY: we own the document.
        unsafe { ffi::xmlFreeDoc(self.0) }
    }
}

/// An element of a live document; the borrow keeps the document alive.
#[derive(Clone, Copy)]
pub struct Node<'d> {
    raw: NodePtr,
    _doc: std::marker::PhantomData<&'d Document>,
}

impl<'d> Node<'d> {
    pub fn raw(&self) -> NodePtr {
        self.raw
    }

    pub fn attribute(&self, name: &str) -> Option<String> {
        let name = CString::new(name).ok()?;
        // SAFETY: the node is live; xmlHasProp returns an attribute of it or null.
        unsafe {
            let attr = ffi::xmlHasProp(self.raw, name.as_ptr().cast());
            if attr.is_null() {
                return None;
            }
            let text = (*attr).children;
            if text.is_null() || (*text).content.is_null() {
                return Some(String::new());
            }
            Some(
                CStr::from_ptr((*text).content.cast())
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    }

    fn element_children(&self) -> impl Iterator<Item = Node<'d>> {
        // SAFETY: the node is live; we walk its child list.
        let mut next = unsafe { (*self.raw).children };
        std::iter::from_fn(move || {
            while !next.is_null() {
                let node = next;
                // SAFETY: as above.
                unsafe {
                    next = (*node).next;
                    if (*node).type_ == ffi::xmlElementType_XML_ELEMENT_NODE {
                        return Some(Node {
                            raw: node,
                            _doc: std::marker::PhantomData,
                        });
                    }
                }
            }
            None
        })
    }

    fn local_name(&self) -> String {
        // SAFETY: element nodes have a NUL-terminated name.
        unsafe { CStr::from_ptr((*self.raw).name.cast()) }
            .to_string_lossy()
            .into_owned()
    }

    fn namespace(&self) -> Option<String> {
        // SAFETY: ns is null or a live namespace with a NUL-terminated href.
        unsafe {
            let ns = (*self.raw).ns;
            if ns.is_null() || (*ns).href.is_null() {
                return None;
            }
            Some(
                CStr::from_ptr((*ns).href.cast())
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    }

    pub fn child_element(&self, local_name: &str) -> Option<Node<'d>> {
        self.element_children()
            .find(|n| n.local_name() == local_name)
    }

    pub fn child_element_ns(&self, local_name: &str, ns: &str) -> Option<Node<'d>> {
        self.element_children()
            .find(|n| n.local_name() == local_name && n.namespace().as_deref() == Some(ns))
    }

    pub fn first_element_child(&self) -> Option<Node<'d>> {
        self.element_children().next()
    }
}
