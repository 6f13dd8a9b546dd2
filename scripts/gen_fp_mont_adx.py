#!/usr/bin/env python3
"""Generate crypto/fp_mont_adx.S: 1024-bit Montgomery multiplication with BMI2/ADX.

    void mcsec_fp_mont_mul_adx(uint64_t r[16], const uint64_t a[16], const uint64_t b[16],
                               const uint64_t m[16], uint64_t n0);

r = a * b * 2^-1024 mod m, fully reduced, for odd m < 2^1024, a, b < m and n0 = -m^-1 mod 2^64.
r may alias a and/or b (r is written only once everything else has been read).

Algorithm: fully unrolled operand-scanning CIOS. Row i does t += a * b[i] (phase A), then
u = t[0] * n0 mod 2^64 and t += u * m (phase B), then drops the zero low word. Each phase is
one pass of mulx with two independent carry chains: adcx (CF) adds the low product halves
into column j, adox (OF) adds the high halves into column j + 1. The low columns of the
accumulator live in registers, the rest in a stack buffer indexed by absolute column; the
"shift by one word" after each row is a renaming of registers in this generator, so it costs
nothing at run time. All of a, b, m are copied into the stack frame first, so that no
pointer registers are needed in the main body. Constant time: no branches, no secret
dependent addresses; the final conditional subtraction uses cmov.

Usage: gen_fp_mont_adx.py [output path]   (default: crypto/fp_mont_adx.S next to this script)
"""

import os
import sys

N = 16                       # limbs
FUNC = "mcsec_fp_mont_mul_adx"

# All general purpose registers but rsp. rdx is the mulx multiplier.
GPRS = ["rax", "rbx", "rcx", "rsi", "rdi", "rbp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
CALLEE_SAVED = ["rbx", "rbp", "r12", "r13", "r14", "r15"]

# Stack frame (offsets from rsp, in words).
T_OFF = 0                    # accumulator columns by absolute index: 0 .. 2N+1
T_WORDS = 2 * N + 2
A_OFF = T_OFF + T_WORDS      # copy of a
B_OFF = A_OFF + N            # copy of b
M_OFF = B_OFF + N            # copy of m
N0_OFF = M_OFF + N           # n0
R_OFF = N0_OFF + 1           # r pointer
FRAME_WORDS = R_OFF + 1
if (FRAME_WORDS * 8) % 16 != 8:  # 6 pushes + return address leave rsp 8 mod 16
    FRAME_WORDS += 1


def mem(word):
    return "qword ptr [rsp + %d]" % (8 * word)


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
    def phase(self, i, src_off, cols, last_a, top_in):
        """One mulx pass: columns j = 0..16 of row i (absolute column i + j) get
        rdx * src[0..15]. cols maps j -> register for register-resident columns; other
        columns are in T. Column 16 and the carry-out column 17 are returned as registers
        (c16, c17); top_in, if not None, is the register holding column 17 from phase A."""
        z = self.alloc()
        self.emit("xor %s, %s" % (z, z))     # clears CF and OF
        self.release(z)
        work = None                           # register holding a memory column in flight
        for j in range(N):
            hi = self.alloc()
            lo = self.alloc()
            self.emit("mulx %s, %s, %s" % (hi, lo, mem(src_off + j)))
            # low half into column j
            if j in cols:
                self.emit("adcx %s, %s" % (cols[j], lo))
            else:
                assert work is not None
                self.emit("adcx %s, %s" % (work, lo))
                cols[j] = work               # keep it in a register for now
            self.release(lo)
            # high half into column j + 1
            if (j + 1) in cols:
                self.emit("adox %s, %s" % (cols[j + 1], hi))
                self.release(hi)
                work = None
            else:
                self.emit("adox %s, %s" % (hi, mem(T_OFF + i + j + 1)))
                work = hi
            # spill memory columns that are done with (j >= R) unless told to keep
            if j >= self.R and j in cols and self.spill_ok(j):
                self.emit("mov %s, %s" % (mem(T_OFF + i + j), cols[j]))
                self.release(cols.pop(j))
        # column 16 in `work` (or a register), CF pending into 16, OF pending into 17
        c16 = cols.pop(N) if N in cols else work
        z = self.alloc()
        self.emit("mov %s, 0" % z)
        self.emit("adcx %s, %s" % (c16, z))
        if top_in is None:
            c17 = self.alloc()
            self.emit("mov %s, 0" % c17)
        else:
            c17 = top_in
        self.emit("adcx %s, %s" % (c17, z))
        self.emit("adox %s, %s" % (c17, z))
        self.release(z)
        return c16, c17

    def spill_ok(self, j):
        return True

    # ---------------------------------------------------------------------------------
    def generate(self):
        R = self.R
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
        for k, reg in enumerate(CALLEE_SAVED):
            self.emit("push %s" % reg)
            self.emit(".cfi_adjust_cfa_offset 8")
            self.emit(".cfi_rel_offset %s, 0" % reg)
        self.emit("sub rsp, %d" % (8 * FRAME_WORDS))
        self.emit(".cfi_adjust_cfa_offset %d" % (8 * FRAME_WORDS))
        # args: rdi = r, rsi = a, rdx = b, rcx = m, r8 = n0
        self.emit("mov %s, rdi" % mem(R_OFF))
        self.emit("mov %s, r8" % mem(N0_OFF))
        self.comment("copy a, b, m into the frame")
        for k in range(0, N, 2):
            self.emit("movdqu xmm0, xmmword ptr [rsi + %d]" % (8 * k))
            self.emit("movdqu xmm1, xmmword ptr [rdx + %d]" % (8 * k))
            self.emit("movdqu xmm2, xmmword ptr [rcx + %d]" % (8 * k))
            self.emit("movdqu xmmword ptr [rsp + %d], xmm0" % (8 * (A_OFF + k)))
            self.emit("movdqu xmmword ptr [rsp + %d], xmm1" % (8 * (B_OFF + k)))
            self.emit("movdqu xmmword ptr [rsp + %d], xmm2" % (8 * (M_OFF + k)))
        self.emit("pxor xmm0, xmm0")
        self.emit("pxor xmm1, xmm1")
        self.emit("pxor xmm2, xmm2")

        pool = [r for r in GPRS]
        # resident columns of row 0 all start at zero
        cols = {}
        for j in range(R):
            cols[j] = pool.pop(0)
            self.emit("xor %s, %s" % (cols[j], cols[j]))
        self.free = pool
        z = self.alloc()
        self.emit("xor %s, %s" % (z, z))
        for c in range(R, N + 1):
            self.emit("mov %s, %s" % (mem(T_OFF + c), z))
        self.release(z)

        for i in range(N):
            self.comment("row %d: t += a * b[%d]" % (i, i))
            self.emit("mov rdx, %s" % mem(B_OFF + i))
            c16, c17 = self.phase(i, A_OFF, cols, True, None)
            # column 16 back to memory, column 17 kept for phase B
            self.emit("mov %s, %s" % (mem(T_OFF + i + N), c16))
            self.release(c16)
            self.comment("row %d: u = t[0] * n0, t += u * m, t >>= 64" % i)
            self.emit("mov rdx, %s" % cols[0])
            self.emit("imul rdx, %s" % mem(N0_OFF))
            # in phase B column 0 becomes zero; free its register right after use
            c16, c17 = self.phase_b(i, cols, c17)
            self.emit("mov %s, %s" % (mem(T_OFF + i + N), c16))
            self.release(c16)
            self.emit("mov %s, %s" % (mem(T_OFF + i + N + 1), c17))
            self.release(c17)
            # shift: column j + 1 becomes column j
            newcols = {}
            for j, reg in cols.items():
                assert j >= 1
                newcols[j - 1] = reg
            cols = newcols
            assert sorted(cols) == list(range(R)), sorted(cols)

        self.final(cols)
        return "\n".join(o) + "\n"

    def phase_b(self, i, cols, top_in):
        """phase() specialised: column 0 is dropped after its adcx; memory column R is
        kept in a register (it becomes resident column R - 1 after the shift)."""
        z = self.alloc()
        self.emit("xor %s, %s" % (z, z))
        self.release(z)
        work = None
        R = self.R
        for j in range(N):
            hi = self.alloc()
            lo = self.alloc()
            self.emit("mulx %s, %s, %s" % (hi, lo, mem(M_OFF + j)))
            if j in cols:
                self.emit("adcx %s, %s" % (cols[j], lo))
            else:
                self.emit("adcx %s, %s" % (work, lo))
                cols[j] = work
            self.release(lo)
            if j == 0:
                self.release(cols.pop(0))     # now zero; only its carry matters
            if (j + 1) in cols:
                self.emit("adox %s, %s" % (cols[j + 1], hi))
                self.release(hi)
                work = None
            else:
                self.emit("adox %s, %s" % (hi, mem(T_OFF + i + j + 1)))
                work = hi
            if j > R and j in cols:
                self.emit("mov %s, %s" % (mem(T_OFF + i + j), cols[j]))
                self.release(cols.pop(j))
        c16 = work
        z = self.alloc()
        self.emit("mov %s, 0" % z)
        self.emit("adcx %s, %s" % (c16, z))
        self.emit("adcx %s, %s" % (top_in, z))
        self.emit("adox %s, %s" % (top_in, z))
        self.release(z)
        return c16, top_in

    def final(self, cols):
        """t = columns 16..31 (cols / T), top word T[32]; r = t >= m ? t - m : t."""
        R = self.R
        self.comment("final conditional subtraction")
        rp = self.alloc()
        self.emit("mov %s, %s" % (rp, mem(R_OFF)))
        self.free.append("rdx")
        d = {}
        for j in range(N):
            x = self.alloc() if self.free else None
            if x is None:
                x = "rdx"
                raise RuntimeError("no register")
            src = cols[j] if j in cols else mem(T_OFF + N + j)
            self.emit("mov %s, %s" % (x, src))
            self.emit("%s %s, %s" % ("sub" if j == 0 else "sbb", x, mem(M_OFF + j)))
            if len(self.free) == 0 and j < N - 1:
                self.emit("mov qword ptr [%s + %d], %s" % (rp, 8 * j, x))
                self.release(x)
            else:
                d[j] = x
        top = None
        # top word: t >= m iff top - borrow does not borrow
        top = self.alloc() if self.free else None
        if top is None:
            # reuse a d register after spilling it to r
            j = max(d)
            self.emit("mov qword ptr [%s + %d], %s" % (rp, 8 * j, d[j]))
            top = d.pop(j)
        self.emit("mov %s, %s" % (top, mem(T_OFF + 2 * N)))
        self.emit("sbb %s, 0" % top)          # CF = 1 iff t < m: keep t
        for j in range(N):
            src = cols[j] if j in cols else mem(T_OFF + N + j)
            if j in d:
                self.emit("cmovc %s, %s" % (d[j], src))
                self.emit("mov qword ptr [%s + %d], %s" % (rp, 8 * j, d[j]))
            else:
                x = top
                self.emit("mov %s, qword ptr [%s + %d]" % (x, rp, 8 * j))
                self.emit("cmovc %s, %s" % (x, src))
                self.emit("mov qword ptr [%s + %d], %s" % (rp, 8 * j, x))
        self.epilogue()

    def epilogue(self):
        self.comment("wipe the frame copies of the operands and the accumulator")
        self.emit("pxor xmm0, xmm0")
        for k in range(0, FRAME_WORDS - 1, 2):
            self.emit("movdqu xmmword ptr [rsp + %d], xmm0" % (8 * k))
        if FRAME_WORDS % 2:
            self.emit("mov qword ptr [rsp + %d], 0" % (8 * (FRAME_WORDS - 1)))
        self.emit("add rsp, %d" % (8 * FRAME_WORDS))
        self.emit(".cfi_adjust_cfa_offset %d" % (-8 * FRAME_WORDS))
        for reg in reversed(CALLEE_SAVED):
            self.emit("pop %s" % reg)
            self.emit(".cfi_adjust_cfa_offset -8")
            self.emit(".cfi_restore %s" % reg)
        self.emit("ret")
        self.emit(".cfi_endproc")
        self.out.append("    .size %s, .-%s" % (FUNC, FUNC))
        self.out.append("")
        self.out.append('    .section .note.GNU-stack,"",@progbits')


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "crypto", "fp_mont_adx.S")
    resident = int(os.environ.get("FP_ADX_RESIDENT", "10"))
    text = Gen(resident).generate()
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
