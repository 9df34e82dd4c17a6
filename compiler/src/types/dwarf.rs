//! DWARF of user binaries (typed uprobe `args`).
