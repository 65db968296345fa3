€{"jsonrpc":"2.0","id":4,"method":"account.login","params":{"password":"correct horse battery staple"}}
