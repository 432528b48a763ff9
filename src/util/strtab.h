/*
 * Constant tables the loader never writes.
 *
 * The program is position-independent, so every pointer in a constant
 * table is relocated at each start: the loader writes the table's pages,
 * one copy-on-write page fault per 4 KiB (some 40 microseconds each in a
 * virtual machine), whether or not the command reads the table.  A table
 * made from a .def file with these macros keeps its strings in one
 * constant struct of char arrays and its rows hold offsets into it:
 * nothing to relocate, so table and strings stay read-only, shared with
 * the file, and untouched until read (bench/startup/RESULTS.md).
 *
 * Each string of a row is a field named after a tag and the line of the
 * .def file the row starts on (every row starts on a line of its own), so
 * the .def file included once for the fields, once for their values and
 * once for the rows pairs them up:
 *
 *   static const struct code_strs {
 *   #define CODE(c, w) SD_STRTAB_FIELD(c_, c) SD_STRTAB_FIELD(w_, w)
 *   #include "codes.def"
 *   #undef CODE
 *   } code_strs = {
 *   #define CODE(c, w) c, w,
 *   ...
 *   };
 *   static const struct { sd_stroff code, words; } codes[] = {
 *   #define CODE(c, w) { SD_STRTAB_AT(code_strs, c_, c), \
 *                        SD_STRTAB_AT(code_strs, w_, w) },
 *   ...
 *   };
 *   ... sd_strtab_str(&code_strs, codes[i].words) ...
 *
 * A NULL of the .def file: the two passes that write the strings include
 * it with NULL defined as "" (its field holds "" and is never read):
 *
 *   #pragma push_macro("NULL")
 *   #undef NULL
 *   #define NULL ""
 *   ... the fields and their values ...
 *   #pragma pop_macro("NULL")
 *
 * and SD_STRTAB_AT, which sees the real NULL, gives it the offset
 * SD_STRTAB_NONE, which sd_strtab_str() reads as NULL again.
 */
#ifndef SD_UTIL_STRTAB_H
#define SD_UTIL_STRTAB_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t sd_stroff;
#define SD_STRTAB_NONE UINT32_MAX

#define SD_STRTAB_CAT_(a, b) a##b
#define SD_STRTAB_CAT(a, b) SD_STRTAB_CAT_(a, b)

/* The field for string s of the row on this line. */
#define SD_STRTAB_FIELD(tag, s) char SD_STRTAB_CAT(tag, __LINE__)[sizeof(s)];

/* Its offset in struct `type` (SD_STRTAB_NONE for NULL). */
#define SD_STRTAB_AT(type, tag, s) \
	(__builtin_types_compatible_p(__typeof__(s), void *) ? SD_STRTAB_NONE : \
	    (sd_stroff)offsetof(struct type, SD_STRTAB_CAT(tag, __LINE__)))

static inline const char *sd_strtab_str(const void *strs, sd_stroff off)
{
	return off == SD_STRTAB_NONE ? NULL : (const char *)strs + off;
}

#endif
