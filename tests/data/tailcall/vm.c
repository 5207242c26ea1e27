/* A bytecode interpreter written as a tail-calling state machine: each handler jumps to the
   next through a musttail call, as threaded interpreters do. */
typedef unsigned long long u64;
typedef u64 (*handler)(const unsigned char *pc, u64 acc, u64 n);

static u64 op_dec(const unsigned char *pc, u64 acc, u64 n);
static u64 op_mix(const unsigned char *pc, u64 acc, u64 n);
static u64 op_loop(const unsigned char *pc, u64 acc, u64 n);
static u64 op_halt(const unsigned char *pc, u64 acc, u64 n);

static handler table[4] = {op_dec, op_mix, op_loop, op_halt};
static const unsigned char program[] = {1, 0, 2, 3};

#define NEXT(pc, acc, n) __attribute__((musttail)) return table[*(pc)]((pc), (acc), (n))

static u64 op_dec(const unsigned char *pc, u64 acc, u64 n) { n -= 1; pc += 1; NEXT(pc, acc, n); }
static u64 op_mix(const unsigned char *pc, u64 acc, u64 n) {
    acc = acc * 6364136223846793005ULL + n; pc += 1; NEXT(pc, acc, n);
}
static u64 op_loop(const unsigned char *pc, u64 acc, u64 n) {
    pc = n ? program : pc + 1; NEXT(pc, acc, n);
}
static u64 op_halt(const unsigned char *pc, u64 acc, u64 n) { return acc ^ n; }

__attribute__((export_name("run"))) u64 run(u64 n) { return table[program[0]](program, 1, n); }
