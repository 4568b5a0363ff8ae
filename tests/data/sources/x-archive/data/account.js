window.YTD.account.part0 = [
  {
    "account" : {
      "email" : "mark@example.org",
      "createdVia" : "web",
      "username" : "mandercorn",
      "accountId" : "14212345",
      "createdAt" : "2008-03-24T18:52:05.000Z",
      "accountDisplayName" : "Mark Anderson"
    }
  }
]
