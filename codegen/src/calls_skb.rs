//! `skboutput(PATH, SKB, LENGTH, OFFSET)`: `bpf_skb_output(skb, map, flags, hdr, size)`
//! sends the first LENGTH bytes of the sk_buff's data, after a [`btc_bpfprog::SkbHeader`],
//! through the perf event array [`btc_bpfprog::SKB_MAP`]; the runtime writes them to PATH as a
//! pcap record. The kernel copies packet data from its start only, so OFFSET travels in the
//! header and the runtime drops those bytes (as bpftrace does).

use super::debuginfo::DebugInfo;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Expr, ExprKind};
use btc_bpfprog::{SKB_HEADER_SIZE, SKB_MAP};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::values::GlobalValue;
use inkwell::IntPredicate;

const BPF_FUNC_SKB_OUTPUT: u64 = 111;
const BPF_FUNC_KTIME_GET_BOOT_NS: u64 = 125;
const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
/// `BPF_F_CURRENT_CPU`: the sample goes to this CPU's perf buffer.
const BPF_F_CURRENT_CPU: u64 = 0xffff_ffff;
/// What the helper returns when the sample doesn't fit in the perf buffer.
const ENOSPC: i64 = 28;

/// The perf event array and the pcap files of a module's skboutput() calls.
#[derive(Default)]
pub(crate) struct SkbOutputs<'ctx> {
    map: Option<GlobalValue<'ctx>>,
    /// Pcap paths in order of first use: the `pcap` index of a header.
    pub pcaps: Vec<String>,
}

impl<'ctx> SkbOutputs<'ctx> {
    /// The map, defined on first use.
    fn map(&mut self, context: &'ctx Context, module: &Module<'ctx>) -> GlobalValue<'ctx> {
        *self.map.get_or_insert_with(|| {
            let ptr = context.ptr_type(inkwell::AddressSpace::default());
            let ty = context.struct_type(&[ptr.into(); 3], false);
            let g = module.add_global(ty, None, SKB_MAP);
            g.set_initializer(&ty.const_zero());
            g.set_section(Some(".maps"));
            g.set_linkage(Linkage::External);
            g.set_alignment(8);
            g
        })
    }

    fn pcap_index(&mut self, path: &str) -> u32 {
        let i = match self.pcaps.iter().position(|p| p == path) {
            Some(i) => i,
            None => {
                self.pcaps.push(path.to_string());
                self.pcaps.len() - 1
            }
        };
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    /// Gives the map its BTF description once every program is generated. Without
    /// `max_entries`, libbpf sizes a perf event array to the number of possible CPUs.
    pub fn finish(&self, context: &'ctx Context, di: &DebugInfo<'ctx>) {
        if let Some(g) = self.map {
            let attrs = [("type", BPF_MAP_TYPE_PERF_EVENT_ARRAY), ("key_size", 4), ("value_size", 4)];
            di.describe_map(context, g, SKB_MAP, &attrs);
        }
    }
}

impl<'ctx> FnCx<'_, 'ctx> {
    /// `skboutput(PATH, SKB, LENGTH, OFFSET)`: the helper's result (0 or a negative errno) as
    /// the uint32 the checker typed it.
    pub(crate) fn skboutput(&mut self, e: &Expr, args: &[Expr]) -> R<Val<'ctx>> {
        let [path, skb, len, off] = args else { return Err(llvm_err("skboutput arguments")) };
        let ExprKind::Str(path) = &path.kind else { return Err(llvm_err("skboutput path")) };
        let pcap = self.m.skb.pcap_index(path);
        let skb = self.expr(skb)?;
        let skb = self.as_int(skb)?;
        let len = self.expr(len)?;
        let len = self.as_int(len)?;
        let off = self.expr(off)?;
        let off = self.as_int(off)?;

        // The header: u32 pcap, u32 len, u64 offset, u64 ns (see btc_bpfprog::SkbHeader).
        let size = SKB_HEADER_SIZE as u32;
        let hdr = self.alloca_bytes(size, "skb_hdr")?;
        let i32t = self.m.context.i32_type();
        self.b.build_store(hdr, i32t.const_int(u64::from(pcap), false)).map_err(llvm_err)?;
        let len32 = self.b.build_int_truncate(len, i32t, "len32").map_err(llvm_err)?;
        self.b.build_store(self.offset(hdr, 4)?, len32).map_err(llvm_err)?;
        self.store_i64(self.offset(hdr, 8)?, off)?;
        let ns = self.helper(BPF_FUNC_KTIME_GET_BOOT_NS, &[])?;
        self.store_i64(self.offset(hdr, 16)?, ns)?;

        // flags: the bytes to copy from the skb in the upper 32 bits, the CPU in the lower.
        let wide = self.b.build_left_shift(len, self.u64c(32), "ctxlen").map_err(llvm_err)?;
        let flags = self.b.build_or(wide, self.u64c(BPF_F_CURRENT_CPU), "flags").map_err(llvm_err)?;
        let map = self.m.skb.map(self.m.context, &self.m.module).as_pointer_value();
        let r = self.helper(
            BPF_FUNC_SKB_OUTPUT,
            &[skb.into(), map.into(), flags.into(), hdr.into(), self.u64c(u64::from(size)).into()],
        )?;
        // A full perf buffer: the packet is lost, counted with the other lost events. (The
        // kernel also reports it in the buffer, but only once a later sample fits; the runtime
        // ignores that report.)
        let full = self.b.build_int_compare(IntPredicate::EQ, r, self.i64(-ENOSPC), "full").map_err(llvm_err)?;
        let lost = self.new_block("skb_lost");
        let done = self.new_block("skb_sent");
        self.b.build_conditional_branch(full, lost, done).map_err(llvm_err)?;
        self.b.position_at_end(lost);
        self.count_lost()?;
        self.b.build_unconditional_branch(done).map_err(llvm_err)?;
        self.b.position_at_end(done);
        Ok(Val::Int(self.fit(r, &self.ty(e))?))
    }
}
