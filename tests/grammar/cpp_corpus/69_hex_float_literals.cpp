#include <cmath>
using namespace std;

double literals() {
    int h = 0x1F + 0XaB + 017 + 0b1011;
    long big = 1'000'000L;
    unsigned long long u = 18446744073709551615ULL;
    float f = 3.14f, g = 2.f, k = 1e10f;
    double d = 6.02e23, e = 1.6E-19, z = .5;
    return h + big + (double)u * 0 + f + g + k + d + e + z;
}
