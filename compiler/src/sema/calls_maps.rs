//! Typing map functions: the aggregates (count, sum, min, max, avg, stats, hist, lhist) and
//! delete, clear, zero, len, has_key.

use super::check::Checker;
use crate::ast::*;
use crate::catalogue::MapFn;
use crate::types::{AggKind, Type};

impl Checker<'_> {
    pub(crate) fn call_maps(&mut self, e: &Expr, f: MapFn, args: &[Expr]) -> Type {
        let name = Func::Map(f).name();
        let agg = Type::Agg;
        match f {
            MapFn::Count => {
                self.arity(e, name, args, 0, 0);
                agg(AggKind::Count)
            }
            MapFn::Sum | MapFn::Min | MapFn::Max | MapFn::Avg | MapFn::Stats => {
                if self.arity(e, name, args, 1, 1) {
                    self.int_arg(name, &args[0]);
                }
                agg(match f {
                    MapFn::Sum => AggKind::Sum,
                    MapFn::Min => AggKind::Min,
                    MapFn::Max => AggKind::Max,
                    MapFn::Avg => AggKind::Avg,
                    _ => AggKind::Stats,
                })
            }
            MapFn::Hist => {
                let mut k = 0u8;
                if self.arity(e, name, args, 1, 2) {
                    self.int_arg(name, &args[0]);
                    if let Some(a) = args.get(1) {
                        match self.const_int_arg(name, "the number of buckets per power of 2 (k)", a) {
                            Some(v @ 0..=5) => k = v as u8,
                            Some(_) => self.err(a.span, "hist(): k must be between 0 and 5"),
                            None => {}
                        }
                    }
                }
                agg(AggKind::Hist { k })
            }
            MapFn::Lhist => {
                if !self.arity(e, name, args, 4, 4) {
                    return agg(AggKind::Lhist { min: 0, max: 1, step: 1 });
                }
                self.int_arg(name, &args[0]);
                let min = self.const_int_arg(name, "min", &args[1]);
                let max = self.const_int_arg(name, "max", &args[2]);
                let step = self.const_int_arg(name, "step", &args[3]);
                let (Some(min), Some(max), Some(step)) = (min, max, step) else {
                    return agg(AggKind::Lhist { min: 0, max: 1, step: 1 });
                };
                if step <= 0 {
                    self.err(args[3].span, "lhist(): step must be positive");
                } else if max <= min {
                    self.err(args[2].span, "lhist(): max must be greater than min");
                } else if (max - min) / step > 1000 {
                    self.err(e.span, "lhist(): too many buckets: (max - min) / step must be at most 1000");
                }
                agg(AggKind::Lhist { min, max, step: step.max(1) })
            }
            MapFn::Delete => {
                // delete(@m[k]) and delete(@m, k).
                match args {
                    [m @ Expr { kind: ExprKind::Map { name: mname, keys }, .. }] => {
                        let key = self.map_key(keys);
                        self.map_arg(m, mname, &[]);
                        self.delete_key(m, mname, key);
                    }
                    [m @ Expr { kind: ExprKind::Map { name: mname, keys }, .. }, k] if keys.is_empty() => {
                        let key = self.map_key(std::slice::from_ref(k));
                        self.map_arg(m, mname, keys);
                        self.delete_key(m, mname, key);
                    }
                    _ => self.err(e.span, "delete() expects a map element: delete(@map[key])"),
                }
                Type::Void
            }
            MapFn::Len => {
                match args {
                    [m @ Expr { kind: ExprKind::Map { name: mname, keys }, .. }] if keys.is_empty() => {
                        self.map_arg(m, mname, keys);
                        let bucketed = self.maps.get(mname).is_some_and(|sig| {
                            matches!(sig.kind, super::check::MapKind::Agg(AggKind::Hist { .. } | AggKind::Lhist { .. }))
                        });
                        if bucketed {
                            self.err(m.span, "len() of a hist() or lhist() map is not supported");
                        }
                    }
                    _ => self.err(e.span, "len() expects a map: len(@map)"),
                }
                Type::U64
            }
            MapFn::HasKey => {
                if !self.arity(e, name, args, 2, 2) {
                    return Type::BOOL;
                }
                match args {
                    [m @ Expr { kind: ExprKind::Map { name: mname, keys }, .. }, k] if keys.is_empty() => {
                        let key = self.map_key(std::slice::from_ref(k));
                        self.map_arg(m, mname, keys);
                        self.has_key_key(e, k, mname, key);
                    }
                    [first, k] => {
                        self.expr(first);
                        self.expr(k);
                        self.err(first.span, "has_key() expects a map as its first argument: has_key(@map, key)");
                    }
                    _ => {}
                }
                Type::BOOL
            }
            MapFn::Clear | MapFn::Zero => {
                match args {
                    [m @ Expr { kind: ExprKind::Map { name: mname, keys }, .. }] if keys.is_empty() => {
                        self.map_arg(m, mname, keys);
                    }
                    _ => self.err(e.span, format!("{name}() expects a map: {name}(@map)")),
                }
                Type::Void
            }
        }
    }

    /// The key given to delete() must fit the map's keys: `delete(@m)` on a map with keys is
    /// an error (the manual's `delete(@associative); // error`), as is a key on a scalar map.
    fn delete_key(&mut self, m: &Expr, name: &str, key: Option<Type>) {
        let Some(sig) = self.maps.get(name).cloned() else { return };
        let fits = match (&sig.key, &key) {
            (None, None) => true,
            (Some(a), Some(b)) => super::check::unify(a, b).is_some(),
            _ => false,
        };
        if fits || !self.final_pass {
            return;
        }
        let msg = match (&sig.key, &key) {
            (Some(k), None) => format!("delete() needs a key: {name} has keys of type {k}, as in delete({name}[key])"),
            (None, Some(_)) => format!("{name} has no keys: delete it with delete({name})"),
            _ => format!("map {name} is used with different keys here"),
        };
        let d = crate::diag::Diagnostic::error(m.span, msg)
            .with_note(sig.defined_at, format!("{name} was first used here"));
        self.diags.push(d);
    }

    /// has_key()'s key must fit a map with keys (bpftrace's messages). A longer string in the key
    /// widens the map's key: cut to the map's size it could match a stored key it differs from.
    /// Integers keep the map's type (a bool key stays a bool).
    fn has_key_key(&mut self, e: &Expr, k: &Expr, name: &str, key: Option<Type>) {
        let Some(sig) = self.maps.get_mut(name) else { return };
        let bucketed = matches!(sig.kind, super::check::MapKind::Agg(AggKind::Hist { .. } | AggKind::Lhist { .. }));
        let (span, msg) = match (&sig.key, &key) {
            (None, _) => (e.span, "call to has_key() expects a map with explicit keys (non-scalar map)".to_string()),
            (Some(_), _) if bucketed => (e.span, "has_key() of a hist() or lhist() map is not supported".to_string()),
            (Some(a), Some(b)) => match super::check::unify(a, b) {
                Some(_) => {
                    sig.key = Some(longer_strings(a, b));
                    return;
                }
                None => (
                    k.span,
                    format!("Argument mismatch for {name}: trying to access with arguments: '{b}' when map expects arguments: '{a}'"),
                ),
            },
            // The key's own type was wrong: reported where it was typed.
            (Some(_), None) => return,
        };
        let defined_at = sig.defined_at;
        if self.final_pass {
            let d = crate::diag::Diagnostic::error(span, msg).with_note(defined_at, format!("{name} was first used here"));
            self.diags.push(d);
        }
    }

    /// A map named as a function argument: it must exist; its keys are typed.
    fn map_arg(&mut self, m: &Expr, name: &str, keys: &[Expr]) {
        for k in keys {
            self.expr(k);
        }
        if self.maps.get(name).is_none() && self.final_pass {
            self.err(m.span, format!("undefined map: {name}"));
        }
        self.set(m, Type::Void);
    }
}

/// `map` (a map's key type, which `key` unifies with) with its strings as long as `key`'s.
fn longer_strings(map: &Type, key: &Type) -> Type {
    match (map, key) {
        (Type::Str { len: a }, Type::Str { len: b }) => Type::Str { len: (*a).max(*b) },
        (Type::Tuple(xs), Type::Tuple(ys)) => Type::Tuple(xs.iter().zip(ys).map(|(x, y)| longer_strings(x, y)).collect()),
        _ => map.clone(),
    }
}
