#include <bits/stdc++.h>
using namespace std;

int lambdaZoo(vector<int> v) {
    int base = 3;
    auto add = [base](int x) { return x + base; };
    auto twice = [](auto f, int x) { return f(f(x)); };
    auto counter = [n = 0]() mutable { return ++n; };
    auto byRef = [&v, base]() -> size_t { return v.size() * base; };
    auto all = [=](int k) { return k * base; };
    int total = 0;
    for_each(v.begin(), v.end(), [&](int x) { total += add(x); });
    counter();
    return total + twice(add, 1) + counter() + (int)byRef() + all(2);
}
