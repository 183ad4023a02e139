#include <string>
#include <algorithm>
using namespace std;

string toBase(long long n, int base) {
    const char* digits = "0123456789ABCDEF";
    bool neg = n < 0;
    unsigned long long m = neg ? -(unsigned long long)n : n;
    string out;
    do {
        out += digits[m % base];
        m /= base;
    } while (m != 0);
    if (neg) out += '-';
    reverse(out.begin(), out.end());
    return out;
}

int digitSum(int n) {
    int s = 0;
    do s += n % 10; while (n /= 10);
    return s;
}
