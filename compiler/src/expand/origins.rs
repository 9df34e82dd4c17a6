//! Where expanded and imported code came from.
//!
//! Code a macro call expands to, and code of an imported file, gets spans in a "virtual" range
//! above [`VIRTUAL_BASE`], one region per expansion or import. A region maps back to the text it
//! was copied from (a macro's definition, possibly itself virtual) and to the place that brought
//! it in (the call, or the `import`). Diagnostics are resolved through the chain, as bpftrace
//! shows them: the error in the macro's body, then `expanded from` at each call.

use crate::diag::{Diagnostic, Span};

/// Spans at or above this offset are virtual.
pub const VIRTUAL_BASE: u32 = 0x8000_0000;

#[derive(Debug, Clone)]
pub enum OriginKind {
    /// A macro's body copied for one call: offsets map to `from` + (offset - base).
    Expansion { from: u32, call: Span },
    /// An imported file; its text is not the script's, so its diagnostics point at `at`.
    Import { file: String, text: String, at: Span },
}

#[derive(Debug, Clone)]
pub struct Origin {
    pub base: u32,
    pub len: u32,
    pub kind: OriginKind,
}

/// The virtual regions of one compilation, in increasing `base` order.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    pub items: Vec<Origin>,
}

impl Origins {
    /// A new region of `len` bytes; `None` when the virtual range is used up.
    pub fn alloc(&mut self, len: u32, kind: OriginKind) -> Option<u32> {
        let base = self.items.last().map_or(Some(VIRTUAL_BASE), |o| o.base.checked_add(o.len)?.checked_add(1))?;
        base.checked_add(len)?;
        self.items.push(Origin { base, len, kind });
        Some(base)
    }

    fn find(&self, pos: u32) -> Option<&Origin> {
        let i = self.items.partition_point(|o| o.base <= pos).checked_sub(1)?;
        self.items.get(i).filter(|o| pos <= o.base + o.len)
    }

    /// One step back: the span a virtual span was copied from, and the origin of the copy.
    fn step(&self, s: Span) -> Option<(Span, &Origin)> {
        if s.start < VIRTUAL_BASE {
            return None;
        }
        let o = self.find(s.start)?;
        let end = s.end.clamp(s.start, o.base + o.len);
        match &o.kind {
            OriginKind::Expansion { from, .. } => {
                Some((Span { start: from + (s.start - o.base), end: from + (end - o.base) }, o))
            }
            OriginKind::Import { .. } => Some((Span { start: s.start - o.base, end: end - o.base }, o)),
        }
    }

    /// The span in the script's text that `s` stands for: where the code was written, or for
    /// code of an imported file, the `import` that brought it in.
    pub fn real(&self, mut s: Span) -> Span {
        for _ in 0..self.items.len() + 1 {
            match self.step(s) {
                None if s.start >= VIRTUAL_BASE => return Span::default(),
                None => return s,
                Some((_, o)) if matches!(o.kind, OriginKind::Import { .. }) => {
                    let OriginKind::Import { at, .. } = &o.kind else { unreachable!() };
                    s = *at;
                }
                Some((from, _)) => s = from,
            }
        }
        s
    }

    /// Rewrites a diagnostic given in virtual spans into the script's text: its location where
    /// the code was written, an `expanded from` note per macro call that copied it there, and
    /// for an imported file the file, line and column in a note at the `import`.
    pub fn resolve(&self, d: &mut Diagnostic) {
        let mut extra = Vec::new();
        d.span = self.chase(d.span, &mut extra);
        let notes = std::mem::take(&mut d.notes);
        for (s, text) in notes {
            let mut more = Vec::new();
            let s = self.chase(s, &mut more);
            d.notes.push((s, text));
            d.notes.extend(more);
        }
        d.notes.extend(extra);
    }

    fn chase(&self, mut s: Span, notes: &mut Vec<(Span, String)>) -> Span {
        let mut pending = Vec::new();
        for _ in 0..self.items.len() + 1 {
            let Some((from, o)) = self.step(s) else { break };
            match &o.kind {
                OriginKind::Expansion { call, .. } => {
                    pending.push(*call);
                    s = from;
                }
                OriginKind::Import { file, text, at } => {
                    let (line, col) = crate::diag::line_col(text, from.start);
                    let src_line = text.lines().nth(line.saturating_sub(1)).unwrap_or("").trim();
                    notes.push((*at, format!("in {file}:{line}:{col}: {src_line}")));
                    s = *at;
                }
            }
        }
        for call in pending {
            let mut outer = Vec::new();
            let real = self.chase(call, &mut outer);
            notes.push((real, "expanded from".to_string()));
            notes.extend(outer);
        }
        if s.start >= VIRTUAL_BASE {
            Span::default()
        } else {
            s
        }
    }
}
