"""People's mediation (人民调解): committees, mediators and the mediation menu."""
