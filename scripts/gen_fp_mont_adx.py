#!/usr/bin/env python3
"""Generate crypto/fp_mont_adx.S: 1024-bit Montgomery multiplication with BMI2/ADX.

    void mcsec_fp_mont_mul_adx(uint64_t r[16], const uint64_t a[16], const uint64_t b[16],
                               const uint64_t m[16], uint64_t n0);

r = a * b * 2^-1024 mod m, fully reduced, for odd m < 2^1024, a, b < m and n0 = -m^-1 mod 2^64.
r may alias a and/or b (r is written only once everything else has been read).

Algorithm: fully unrolled operand-scanning CIOS. Row i does t += a * b[i] (phase A), then
u = t[0] * n0 mod 2^64 and t += u * m (phase B), then drops the zero low word. Each phase is
one pass of mulx with two independent carry chains: adcx (CF) adds the low product halves
into column j, adox (OF) adds the high halves into column j + 1. The low RESIDENT columns
of the accumulator live in registers, the rest in a stack buffer indexed by absolute
column; the "shift by one word" after each row is a renaming of registers in this
generator, so it costs nothing at run time. a, b, m are copied into the stack frame
first, so no pointer registers are needed in the main body; r is written only at the end.

If a and b are the same pointer (a public fact; fp_sqr and x = x * x do this), row i adds
a[i] * (a[i] * 2^(64 i) + 2 * sum_{j > i} a[j] 2^(64 j)) instead of a * a[i]: the rows
sum to a^2 as well, but need only 16 - i multiplications (136 in all instead of 256); the
words of 2a are precomputed with SSE2. The intermediate accumulator may then exceed 2m,
which the carry columns (16, 17) absorb; the final value is < 2m as usual.

Constant time: no branches on data, no secret dependent addresses; the final conditional
subtraction uses cmov. The secret parts of the frame are cleared before returning.

Usage: gen_fp_mont_adx.py [output path]   (default: crypto/fp_mont_adx.S next to this script)
"""

import os
import sys

N = 16                       # limbs
FUNC = "mcsec_fp_mont_mul_adx"
RESIDENT = 10                # accumulator columns held in registers (at most 11)
WIPE = True                  # clear the secret words of the stack frame before returning
SQR = True                   # a == b (same pointer): squaring rows, 136 + 256 mulx instead of 512

# All general purpose registers but rsp. rdx is the mulx multiplier.
GPRS = ["rax", "rbx", "rcx", "rsi", "rdi", "rbp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
CALLEE_SAVED = ["rbx", "rbp", "r12", "r13", "r14", "r15"]

# Stack frame (offsets from rsp, in words).
T_OFF = 0                    # accumulator columns by absolute index: 0 .. 2N
T_WORDS = 2 * N + 2
A_OFF = T_OFF + T_WORDS      # copy of a
B_OFF = A_OFF + N            # copy of b (multiplication)
A2_OFF = A_OFF + N           # squaring: word j of 2a, (a[j] << 1) | (a[j-1] >> 63)
ASH_OFF = A2_OFF + N         # squaring: a[j] << 1
AMASK_OFF = ASH_OFF + N      # squaring: a[j] if the top bit of a is set, else 0
M_OFF = AMASK_OFF + N        # copy of m (public)
N0_OFF = M_OFF + N           # n0
R_OFF = N0_OFF + 1           # r pointer
FRAME_WORDS = R_OFF + 1
if (FRAME_WORDS * 8) % 16 != 8:  # 6 pushes + return address leave rsp 8 mod 16
    FRAME_WORDS += 1


def mem(word):
    return "qword ptr [rsp + %d]" % (8 * word)


def xmem(word):
    return "xmmword ptr [rsp + %d]" % (8 * word)


class Gen:
    def __init__(self, resident):
        self.out = []
        self.R = resident            # accumulator columns kept in registers
        self.free = []

    def emit(self, s):
        self.out.append("    " + s)

    def comment(self, s):
        self.out.append("    /* " + s + " */")

    def alloc(self):
        if not self.free:
            raise RuntimeError("out of registers")
        return self.free.pop(0)

    def release(self, reg):
        assert reg not in self.free
        self.free.append(reg)

    # ---------------------------------------------------------------------------------
    def first_phase(self, src, cols, extra=None):
        """Row 0, t = 0: column j = lo(rdx * src(j)) + hi(rdx * src(j - 1)), one CF chain.
        Fills cols (columns 0..R-1), writes columns R..15 to T, returns (c16, c17)."""
        R = self.R
        prev_hi = None
        for j in range(N):
            hi = self.alloc()
            lo = self.alloc()
            self.emit("mulx %s, %s, %s" % (hi, lo, src(j)))
            if j == 0:
                pass
            elif j == 1:
                self.emit("add %s, %s" % (lo, prev_hi))
            else:
                self.emit("adc %s, %s" % (lo, prev_hi))
            if prev_hi is not None:
                self.release(prev_hi)
            if j < R:
                cols[j] = lo
            else:
                self.emit("mov %s, %s" % (mem(T_OFF + j), lo))
                self.release(lo)
            prev_hi = hi
        c16 = prev_hi
        c17 = self.alloc()
        self.emit("mov %s, 0" % c17)
        self.emit("adc %s, %s" % (c16, extra if extra else c17))
        if extra:
            self.emit("adc %s, %s" % (c17, c17))
        return c16, c17

    def phase(self, i, src, cols, jstart=0, extra=None, top_in=None, reduce=False):
        """One mulx pass over row i: column j (absolute column i + j) gets the low half of
        rdx * src(j) and column j + 1 the high half, for j = jstart .. 15 (CF chain for the
        low halves, OF chain for the high halves). cols maps j -> register for the columns
        held in registers, the others live in T. extra, if given, is one more word added to
        column 16. Returns (c16, c17): registers holding column 16 and the carry-out column
        17 (top_in + carries, if top_in is given).

        reduce: this is the u * m pass; column 0 becomes zero and its register is freed,
        and memory column R stays in a register, to become resident column R - 1."""
        R = self.R
        z = self.alloc()
        self.emit("xor %s, %s" % (z, z))     # clears CF and OF
        self.release(z)
        work = None                           # register holding a memory column in flight
        for j in range(jstart, N):
            hi = self.alloc()
            lo = self.alloc()
            self.emit("mulx %s, %s, %s" % (hi, lo, src(j)))
            # low half into column j
            if j not in cols:
                if work is None:              # first column of the pass is in memory
                    work = self.alloc()
                    self.emit("mov %s, %s" % (work, mem(T_OFF + i + j)))
                cols[j] = work
            self.emit("adcx %s, %s" % (cols[j], lo))
            self.release(lo)
            if reduce and j == 0:
                self.release(cols.pop(0))     # now zero; only its carry matters
            # high half into column j + 1
            if (j + 1) in cols:
                self.emit("adox %s, %s" % (cols[j + 1], hi))
                self.release(hi)
                work = None
            else:
                self.emit("adox %s, %s" % (hi, mem(T_OFF + i + j + 1)))
                work = hi
            # write back memory columns that are done with
            if j in cols and (j > R if reduce else j >= R):
                self.emit("mov %s, %s" % (mem(T_OFF + i + j), cols[j]))
                self.release(cols.pop(j))
        # column 16 in `work`, CF pending into 16, OF pending into 17
        c16 = work
        assert c16 is not None and N not in cols
        z = self.alloc()
        self.emit("mov %s, 0" % z)
        self.emit("adcx %s, %s" % (c16, extra if extra else z))
        if top_in is None:
            c17 = self.alloc()
            self.emit("mov %s, 0" % c17)
        elif top_in == "mem":
            c17 = self.alloc()
            self.emit("mov %s, %s" % (c17, mem(T_OFF + i + N + 1)))
        else:
            c17 = top_in
        self.emit("adcx %s, %s" % (c17, z))
        self.emit("adox %s, %s" % (c17, z))
        self.release(z)
        return c16, c17

    # ---------------------------------------------------------------------------------
    def body(self, square):
        R = self.R
        if square:
            self.comment("a == b: copy a, m; precompute 2a, a << 1 and a & -(a >> 1023)")
            self.emit("movdqu xmm3, xmmword ptr [rsi + %d]" % (8 * (N - 2)))
            self.emit("pshufd xmm3, xmm3, 0xff")
            self.emit("psrad xmm3, 31")
            for k in range(0, N, 2):
                self.emit("movdqu xmm0, xmmword ptr [rsi + %d]" % (8 * k))
                self.emit("movdqu xmm2, xmmword ptr [rcx + %d]" % (8 * k))
                self.emit("movdqu %s, xmm0" % xmem(A_OFF + k))
                self.emit("movdqu %s, xmm2" % xmem(M_OFF + k))
                self.emit("movdqa xmm1, xmm0")
                self.emit("psllq xmm1, 1")
                self.emit("movdqu %s, xmm1" % xmem(ASH_OFF + k))
                self.emit("pand xmm0, xmm3")
                self.emit("movdqu %s, xmm0" % xmem(AMASK_OFF + k))
                if k >= 2:
                    self.emit("movdqu xmm4, xmmword ptr [rsi + %d]" % (8 * k - 8))
                    self.emit("psrlq xmm4, 63")
                    self.emit("por xmm4, xmm1")
                    self.emit("movdqu %s, xmm4" % xmem(A2_OFF + k))
            for x in range(5):
                self.emit("pxor xmm%d, xmm%d" % (x, x))
        else:
            self.comment("copy a, b, m into the frame")
            for k in range(0, N, 2):
                self.emit("movdqu xmm0, xmmword ptr [rsi + %d]" % (8 * k))
                self.emit("movdqu xmm1, xmmword ptr [rdx + %d]" % (8 * k))
                self.emit("movdqu xmm2, xmmword ptr [rcx + %d]" % (8 * k))
                self.emit("movdqu %s, xmm0" % xmem(A_OFF + k))
                self.emit("movdqu %s, xmm1" % xmem(B_OFF + k))
                self.emit("movdqu %s, xmm2" % xmem(M_OFF + k))
            for x in range(3):
                self.emit("pxor xmm%d, xmm%d" % (x, x))

        self.free = list(GPRS)
        cols = {}

        def msrc(j):
            return mem(M_OFF + j)

        for i in range(N):
            if square:
                self.comment("row %d: t += a[%d] * (a[%d] + 2 * a[%d..15]) (in place of a * a[%d])"
                             % (i, i, i, i + 1, i))
                self.emit("mov rdx, %s" % mem(A_OFF + i))

                def ssrc(j, i=i):
                    if j == i:
                        return "rdx"
                    if j == i + 1:
                        return mem(ASH_OFF + j)
                    return mem(A2_OFF + j)
                extra = mem(AMASK_OFF + i) if i < N - 1 else None
                if i == 0:
                    c16, c17 = self.first_phase(ssrc, cols, extra=extra)
                else:
                    c16, c17 = self.phase(i, ssrc, cols, jstart=i, extra=extra)
            else:
                self.comment("row %d: t += a * b[%d]" % (i, i))
                self.emit("mov rdx, %s" % mem(B_OFF + i))
                if i == 0:
                    c16, c17 = self.first_phase(lambda j: mem(A_OFF + j), cols)
                else:
                    c16, c17 = self.phase(i, lambda j: mem(A_OFF + j), cols)
            self.emit("mov %s, %s" % (mem(T_OFF + i + N), c16))
            self.release(c16)
            if R > 10:                       # not enough registers to keep column 17
                self.emit("mov %s, %s" % (mem(T_OFF + i + N + 1), c17))
                self.release(c17)
                c17 = "mem"
            self.comment("row %d: u = t[0] * n0, t += u * m, t >>= 64" % i)
            self.emit("mov rdx, %s" % cols[0])
            self.emit("imul rdx, %s" % mem(N0_OFF))
            c16, c17 = self.phase(i, msrc, cols, top_in=c17, reduce=True)
            self.emit("mov %s, %s" % (mem(T_OFF + i + N), c16))
            self.release(c16)
            self.emit("mov %s, %s" % (mem(T_OFF + i + N + 1), c17))
            self.release(c17)
            # shift: column j + 1 becomes column j
            cols = {j - 1: reg for j, reg in cols.items()}
            assert sorted(cols) == list(range(R)), sorted(cols)
        self.final(cols, square)

    def final(self, cols, square):
        """t = columns 16..31 (cols / T), top word T[32]; r = t >= m ? t - m : t."""
        self.comment("final conditional subtraction")
        rp = self.alloc()
        self.emit("mov %s, %s" % (rp, mem(R_OFF)))
        self.free.append("rdx")
        d = {}
        for j in range(N):
            x = self.alloc()
            src = cols[j] if j in cols else mem(T_OFF + N + j)
            self.emit("mov %s, %s" % (x, src))
            self.emit("%s %s, %s" % ("sub" if j == 0 else "sbb", x, mem(M_OFF + j)))
            if len(self.free) == 0:
                self.emit("mov qword ptr [%s + %d], %s" % (rp, 8 * j, x))
                self.release(x)
            else:
                d[j] = x
        top = self.alloc()
        self.emit("mov %s, %s" % (top, mem(T_OFF + 2 * N)))
        self.emit("sbb %s, 0" % top)          # CF = 1 iff t < m: keep t
        for j in range(N):
            src = cols[j] if j in cols else mem(T_OFF + N + j)
            if j in d:
                self.emit("cmovc %s, %s" % (d[j], src))
                self.emit("mov qword ptr [%s + %d], %s" % (rp, 8 * j, d[j]))
            else:
                self.emit("mov %s, qword ptr [%s + %d]" % (top, rp, 8 * j))
                self.emit("cmovc %s, %s" % (top, src))
                self.emit("mov qword ptr [%s + %d], %s" % (rp, 8 * j, top))
        self.epilogue(square)

    def epilogue(self, square):
        if WIPE:
            # everything below M_OFF that this path wrote: T, and a, b or a, 2a, ...
            self.comment("wipe the accumulator and the copies of a, b from the frame")
            self.emit("pxor xmm0, xmm0")
            end = M_OFF if square else B_OFF + N
            for k in range(0, end, 2):
                self.emit("movdqu xmmword ptr [rsp + %d], xmm0" % (8 * k))
        self.emit("add rsp, %d" % (8 * FRAME_WORDS))
        self.emit(".cfi_adjust_cfa_offset %d" % (-8 * FRAME_WORDS))
        for reg in reversed(CALLEE_SAVED):
            self.emit("pop %s" % reg)
            self.emit(".cfi_adjust_cfa_offset -8")
            self.emit(".cfi_restore %s" % reg)
        self.emit("ret")

    def generate(self):
        o = self.out
        o.append("/* Generated by scripts/gen_fp_mont_adx.py -- do not edit. */")
        o.append("/* 1024-bit Montgomery multiplication, x86-64 BMI2 + ADX (mulx/adcx/adox). */")
        o.append("/* void %s(uint64_t r[16], const uint64_t a[16], const uint64_t b[16]," % FUNC)
        o.append(" *     const uint64_t m[16], uint64_t n0);  (SysV ABI) */")
        o.append("")
        o.append("    .intel_syntax noprefix")
        o.append("    .text")
        o.append("    .p2align 6")
        o.append("    .globl %s" % FUNC)
        o.append("    .type %s, @function" % FUNC)
        o.append("%s:" % FUNC)
        self.emit(".cfi_startproc")
        for reg in CALLEE_SAVED:
            self.emit("push %s" % reg)
            self.emit(".cfi_adjust_cfa_offset 8")
            self.emit(".cfi_rel_offset %s, 0" % reg)
        self.emit("sub rsp, %d" % (8 * FRAME_WORDS))
        self.emit(".cfi_adjust_cfa_offset %d" % (8 * FRAME_WORDS))
        # args: rdi = r, rsi = a, rdx = b, rcx = m, r8 = n0
        self.emit("mov %s, rdi" % mem(R_OFF))
        self.emit("mov %s, r8" % mem(N0_OFF))
        if SQR:
            self.comment("a == b (a pointer comparison, not secret): use the squaring rows")
            self.emit("cmp rsi, rdx")
            self.emit("je .Lmcsec_fp_mont_sqr_adx")
        self.emit(".cfi_remember_state")
        self.body(square=False)
        if SQR:
            self.out.append("    .p2align 4")
            self.out.append(".Lmcsec_fp_mont_sqr_adx:")
            self.emit(".cfi_restore_state")
            self.body(square=True)
        self.emit(".cfi_endproc")
        self.out.append("    .size %s, .-%s" % (FUNC, FUNC))
        self.out.append("")
        self.out.append('    .section .note.GNU-stack,"",@progbits')
        return "\n".join(o) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "crypto", "fp_mont_adx.S")
    text = Gen(RESIDENT).generate()
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
