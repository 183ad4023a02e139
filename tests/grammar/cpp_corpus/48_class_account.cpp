#include <string>
#include <stdexcept>
using namespace std;

class Account {
public:
    Account(const string& owner, long long balance) : owner_(owner), balance_(balance) {}
    virtual ~Account() {}
    const string& owner() const { return owner_; }
    long long balance() const { return balance_; }
    void deposit(long long amount) {
        if (amount <= 0) throw invalid_argument("amount must be positive");
        balance_ += amount;
    }
    virtual bool withdraw(long long amount) {
        if (amount > balance_) return false;
        balance_ -= amount;
        return true;
    }
protected:
    long long balance_;
private:
    string owner_;
};

class Savings : public Account {
public:
    Savings(const string& o, long long b, double r) : Account(o, b), rate_(r) {}
    bool withdraw(long long amount) override {
        if (amount > 1000) return false;
        return Account::withdraw(amount);
    }
    void addInterest() { balance_ += (long long)(balance_ * rate_); }
private:
    double rate_;
};
