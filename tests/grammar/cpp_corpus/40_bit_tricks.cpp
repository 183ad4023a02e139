#include <cstdint>
using namespace std;

int popcount32(unsigned int x) {
    int c = 0;
    while (x) { x &= x - 1; ++c; }
    return c;
}

unsigned reverseBits(unsigned n) {
    unsigned r = 0;
    for (int i = 0; i < 32; i++) {
        r = (r << 1) | (n & 1u);
        n >>= 1;
    }
    return r;
}

bool isPowerOfTwo(long long n) { return n > 0 && (n & (n - 1)) == 0; }

int lowbit(int x) { return x & -x; }

unsigned long long mixHash(unsigned long long h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h = ~h + (h << 21);
    return h % 1000003;
}
