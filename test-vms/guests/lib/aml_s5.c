/*
 * Finding SLP_TYPa for S5 in the DSDT without an AML interpreter: the object is declared
 * Name(_S5, Package() {SLP_TYPa, SLP_TYPb, ...}) (ACPI 6.5 §7.4.2 "\_Sx (System States)"),
 * encoded (§20.2 "AML Grammar Definition") as
 *   NameOp 0x08, NameString "_S5_", PackageOp 0x12, PkgLength (§20.2.4: bits 7:6 of the lead
 *   byte = count of following bytes), NumElements (byte), then the first element: ZeroOp 0x00,
 *   OneOp 0x01, BytePrefix 0x0A + byte, WordPrefix 0x0B + word, DWordPrefix 0x0C + dword.
 * A root prefix '\' (0x5C) may precede the name.
 */
#include "aml_s5.h"

#define AML_NAME_OP 0x08
#define AML_PACKAGE_OP 0x12
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_ROOT_CHAR 0x5c

int aml_s5_slp_typ(const struct acpi_sdt_header *dsdt) {
  const uint8_t *p = (const uint8_t *)dsdt;
  uint32_t len = dsdt->length;
  for (uint32_t i = ACPI_SDT_HEADER_LENGTH + 1; i + 4 <= len; i++) {
    if (p[i] != '_' || p[i + 1] != 'S' || p[i + 2] != '5' || p[i + 3] != '_') continue;
    uint32_t before = i - 1;
    if (p[before] == AML_ROOT_CHAR && before > ACPI_SDT_HEADER_LENGTH) before--;
    if (p[before] != AML_NAME_OP) continue;
    uint32_t j = i + 4;
    if (j >= len || p[j] != AML_PACKAGE_OP) continue;
    j++;
    if (j >= len) return -1;
    j += 1 + (p[j] >> 6); /* PkgLength */
    j++;                  /* NumElements */
    if (j >= len) return -1;
    switch (p[j]) {
      case AML_ZERO_OP: return 0;
      case AML_ONE_OP: return 1;
      case AML_BYTE_PREFIX:
      case AML_WORD_PREFIX:
      case AML_DWORD_PREFIX:
        /* SLP_TYP is a 3-bit field: the low byte is all that matters. */
        return j + 1 < len ? p[j + 1] : -1;
      default: return -1;
    }
  }
  return -1;
}
