/* The protected-mode part of a test bzImage (assembled to a flat binary): startup_32's place
 * filled with hlt, startup_64 at offset 0x200 as Documentation/arch/x86/boot.rst puts it. */
	.text
	.code64
	.fill 0x200, 1, 0xf4
#include "long-mode-report.S"
