// Package gs1 implements the GS1 codes the service issues and reads: check
// digits (GTIN, GLN, SSCC), application identifier (AI) element strings as
// carried by GS1-128, GS1 DataMatrix and GS1 QR Code, and uncompressed GS1
// Digital Link URIs.
//
// Everything here is pure: no I/O, no clock, no package-level mutable
// state. The AI table is a read-only subset of the GS1 Barcode Syntax
// Dictionary; AIs outside it are reported as unknown.
//
// Errors are [*Error] values naming the offending AI, and wrap one of
// [ErrSyntax], [ErrUnknownAI] or [ErrInvalid].
package gs1
