/* expat, opened on first use: lazy.h says why. */
#include <expat.h>

#include "lazy/lazy.h"

static sd_lazy_lib lib_expat = { "libexpat.so.1", NULL };

SD_LAZY_FN(lib_expat, const XML_LChar *, XML_ErrorString, (enum XML_Error code), (code))
SD_LAZY_FN(lib_expat, XML_Size, XML_GetCurrentLineNumber, (XML_Parser parser), (parser))
SD_LAZY_FN(lib_expat, enum XML_Error, XML_GetErrorCode, (XML_Parser parser), (parser))
SD_LAZY_FN(lib_expat, enum XML_Status, XML_Parse, (XML_Parser parser, const char *s, int len, int isFinal), (parser, s, len, isFinal))
SD_LAZY_FN(lib_expat, XML_Parser, XML_ParserCreate, (const XML_Char *encoding), (encoding))
SD_LAZY_VOID(lib_expat, XML_ParserFree, (XML_Parser parser), (parser))
SD_LAZY_VOID(lib_expat, XML_SetCharacterDataHandler, (XML_Parser parser, XML_CharacterDataHandler handler), (parser, handler))
SD_LAZY_VOID(lib_expat, XML_SetElementHandler, (XML_Parser parser, XML_StartElementHandler start, XML_EndElementHandler end), (parser, start, end))
SD_LAZY_FN(lib_expat, int, XML_SetParamEntityParsing, (XML_Parser parser, enum XML_ParamEntityParsing parsing), (parser, parsing))
SD_LAZY_VOID(lib_expat, XML_SetStartDoctypeDeclHandler, (XML_Parser parser, XML_StartDoctypeDeclHandler start), (parser, start))
SD_LAZY_VOID(lib_expat, XML_SetUserData, (XML_Parser parser, void *userData), (parser, userData))
SD_LAZY_FN(lib_expat, enum XML_Status, XML_StopParser, (XML_Parser parser, XML_Bool resumable), (parser, resumable))
