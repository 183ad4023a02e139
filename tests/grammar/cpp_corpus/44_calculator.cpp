#include <bits/stdc++.h>
using namespace std;

int apply_op(int a, int b, char op) {
    switch (op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/':
            if (b == 0) throw runtime_error("division by zero");
            return a / b;
        default:
            throw invalid_argument(string("bad operator: ") + op);
    }
}

int evaluate(const string& expr) {
    stack<int> vals;
    stack<char> ops;
    auto prec = [](char c) { return (c == '+' || c == '-') ? 1 : 2; };
    auto reduce = [&]() {
        int b = vals.top(); vals.pop();
        int a = vals.top(); vals.pop();
        vals.push(apply_op(a, b, ops.top()));
        ops.pop();
    };
    for (size_t i = 0; i < expr.size(); i++) {
        char c = expr[i];
        if (isdigit(c)) {
            int v = 0;
            while (i < expr.size() && isdigit(expr[i])) v = v * 10 + (expr[i++] - '0');
            --i;
            vals.push(v);
        } else if (c == '(') {
            ops.push(c);
        } else if (c == ')') {
            while (ops.top() != '(') reduce();
            ops.pop();
        } else if (c != ' ') {
            while (!ops.empty() && ops.top() != '(' && prec(ops.top()) >= prec(c)) reduce();
            ops.push(c);
        }
    }
    while (!ops.empty()) reduce();
    return vals.top();
}
