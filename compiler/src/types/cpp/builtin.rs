//! The compiler's own headers: what a C compiler ships itself rather than the C library
//! (`<stddef.h>`, `<stdarg.h>`, `<stdbool.h>`, `<float.h>`, and `<stdint.h>` and `<limits.h>`
//! for systems without libc headers). They are used when the search path has no header of
//! that name, so `#include <stddef.h>` works as it does under clang, with or without gcc's
//! private headers installed. Only what declarations need is here.

/// The text of the built-in header `name`, if there is one.
pub fn header(name: &str) -> Option<&'static str> {
    Some(match name {
        "stddef.h" => STDDEF,
        "stdarg.h" => STDARG,
        "stdbool.h" => STDBOOL,
        "float.h" => FLOAT,
        "stdint.h" => STDINT,
        "limits.h" => LIMITS,
        _ => return None,
    })
}

/// Where the built-in headers appear to live (for diagnostics and `#include` guards).
pub const DIR: &str = "<built-in>";

const STDDEF: &str = "#ifndef __BTC_STDDEF_H
#define __BTC_STDDEF_H
typedef unsigned long size_t;
typedef long ptrdiff_t;
typedef int wchar_t;
typedef struct { long long __a; long double __b; } max_align_t;
#define NULL ((void *)0)
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
";

const STDARG: &str = "#ifndef __BTC_STDARG_H
#define __BTC_STDARG_H
#if defined(__aarch64__)
typedef struct { void *__stack; void *__gr_top; void *__vr_top; int __gr_offs; int __vr_offs; } va_list;
#else
typedef struct { unsigned int gp_offset; unsigned int fp_offset; void *overflow_arg_area; void *reg_save_area; } va_list[1];
#endif
typedef va_list __gnuc_va_list;
#endif
";

const STDBOOL: &str = "#ifndef __BTC_STDBOOL_H
#define __BTC_STDBOOL_H
#define bool _Bool
#define true 1
#define false 0
#define __bool_true_false_are_defined 1
#endif
";

const FLOAT: &str = "#ifndef __BTC_FLOAT_H
#define __BTC_FLOAT_H
#define FLT_RADIX 2
#define FLT_MANT_DIG 24
#define DBL_MANT_DIG 53
#define FLT_DIG 6
#define DBL_DIG 15
#endif
";

const STDINT: &str = "#ifndef __BTC_STDINT_H
#define __BTC_STDINT_H
typedef signed char int8_t;
typedef short int16_t;
typedef int int32_t;
typedef long int64_t;
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long uint64_t;
typedef long intptr_t;
typedef unsigned long uintptr_t;
typedef long intmax_t;
typedef unsigned long uintmax_t;
#define INT8_MAX 127
#define INT16_MAX 32767
#define INT32_MAX 2147483647
#define INT64_MAX 9223372036854775807L
#define UINT8_MAX 255
#define UINT16_MAX 65535
#define UINT32_MAX 4294967295U
#define UINT64_MAX 18446744073709551615UL
#endif
";

const LIMITS: &str = "#ifndef __BTC_LIMITS_H
#define __BTC_LIMITS_H
#define CHAR_BIT 8
#define SCHAR_MAX 127
#define UCHAR_MAX 255
#define SHRT_MAX 32767
#define USHRT_MAX 65535
#define INT_MAX 2147483647
#define UINT_MAX 4294967295U
#define LONG_MAX 9223372036854775807L
#define ULONG_MAX 18446744073709551615UL
#endif
";
