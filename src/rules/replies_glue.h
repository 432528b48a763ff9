/* Internal: the generic fallbacks behind sd_rules_reply_cause(). */
#ifndef SD_REPLIES_GLUE_H
#define SD_REPLIES_GLUE_H
const char *sd_rules_generic_cause(const char *stage, int code,
    const char *enhanced, const char *text);
#endif
